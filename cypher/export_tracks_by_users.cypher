// Tracks listened to by any of the listed users.
// Params: $users (list of user ids).  Columns: id (string).
UNWIND $users AS user_id
MATCH (:User {id: user_id})-[:LISTENED]->(t:Track)
RETURN DISTINCT t.id AS id
