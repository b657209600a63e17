// Feature vectors of the listed tracks, one row per (track, feature).
// Params: $ids (track ids).  Columns: id (track id), name (feature name), vector (list of floats).
UNWIND $ids AS track_id
MATCH (:Track {id: track_id})-[:HAS_FEATURE]->(f:Feature)
RETURN track_id AS id, f.name AS name, f.vector AS vector
