// Tracks listened to by any of the listed users, in pages of at most $page ids.
// Params: $users (list of user ids), $page (int).  Columns: ids (list of track ids).
UNWIND $users AS user_id
MATCH (:User {id: user_id})-[:LISTENED]->(t:Track)
WITH collect(DISTINCT t.id) AS ids
UNWIND range(0, size(ids) - 1, $page) AS start
RETURN ids[start..start + $page] AS ids
