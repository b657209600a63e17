// Users who listened to at least one of the listed tracks.
// Params: $ids (list of track ids).  Columns: ids (list of user ids; one record).
UNWIND $ids AS track_id
MATCH (u:User)-[:LISTENED]->(:Track {id: track_id})
RETURN collect(DISTINCT u.id) AS ids
