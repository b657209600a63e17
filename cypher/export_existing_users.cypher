// The listed user ids that exist.
// Params: $ids (list of user ids).  Columns: ids (list of strings; one record).
UNWIND $ids AS user_id
MATCH (u:User {id: user_id})
RETURN collect(u.id) AS ids
