// The listed user ids that exist.
// Params: $ids (list of user ids).  Columns: id (string).
UNWIND $ids AS user_id
MATCH (u:User {id: user_id})
RETURN u.id AS id
