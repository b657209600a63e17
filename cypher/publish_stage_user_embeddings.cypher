// Stage the new model's user vectors in `embedding_next` (invisible to readers until the flip).
// Params:  $rows = [{id: string, vector: [float]}]
// Returns: n (users found)
UNWIND $rows AS row
MATCH (u:User {id: row.id})
SET u.embedding_next = row.vector
RETURN count(u) AS n
