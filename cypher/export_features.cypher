// Feature vectors of the listed tracks.
// Params: $ids (track ids).
// Columns: features (list of [track id, feature name, vector (list of floats)]; one record).
UNWIND $ids AS track_id
MATCH (:Track {id: track_id})-[:HAS_FEATURE]->(f:Feature)
RETURN collect([track_id, f.name, f.vector]) AS features
