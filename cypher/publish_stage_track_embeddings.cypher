// Stage the new model's track vectors in `embedding_next` (invisible to readers until the flip).
// Params:  $rows = [{id: string, vector: [float]}]
// Returns: nothing (a node found counts one property set)
UNWIND $rows AS row
MATCH (t:Track {id: row.id})
SET t.embedding_next = row.vector
