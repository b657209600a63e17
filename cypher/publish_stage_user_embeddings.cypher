// Stage the new model's user vectors in `embedding_next` (invisible to readers until the flip).
// Params:  $rows = [{id: string, vector: [float]}]
// Returns: nothing (a node found counts one property set)
UNWIND $rows AS row
MATCH (u:User {id: row.id})
SET u.embedding_next = row.vector
