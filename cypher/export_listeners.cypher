// Users who listened to at least one of the listed tracks.
// Params: $ids (list of track ids).  Columns: id (string).
UNWIND $ids AS track_id
MATCH (u:User)-[:LISTENED]->(:Track {id: track_id})
RETURN DISTINCT u.id AS id
