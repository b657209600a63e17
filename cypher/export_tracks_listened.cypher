// Tracks at least one user listened to, in pages of at most $page ids (the tracks `mmkg train`
// trains on by default: a track nobody has listened to would only ever be a negative).
// Params: $page (int).  Columns: ids (list of track ids).
MATCH (t:Track)
WHERE EXISTS { (t)<-[:LISTENED]-(:User) }
WITH collect(t.id) AS ids
UNWIND range(0, size(ids) - 1, $page) AS start
RETURN ids[start..start + $page] AS ids
