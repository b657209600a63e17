// Users who listened to at least one track, in pages of at most $page ids: the listeners of
// a selection that keeps exactly the tracks with a listen.
// Params: $page (int).  Columns: ids (list of user ids).
MATCH (u:User)
WHERE EXISTS { (u)-[:LISTENED]->(:Track) }
WITH collect(u.id) AS ids
UNWIND range(0, size(ids) - 1, $page) AS start
RETURN ids[start..start + $page] AS ids
