// Shape summary of the feature vectors of the listed tracks.
// Params: $ids (track ids), $modalities (modality label names).
// Columns: name, dim (the `dim` property, -1 when absent), size (vector length), kind (modality
//          label or null), n (how many feature nodes have that combination).
UNWIND $ids AS track_id
MATCH (:Track {id: track_id})-[:HAS_FEATURE]->(f:Feature)
RETURN f.name AS name, coalesce(f.dim, -1) AS dim, size(f.vector) AS size,
       head([l IN $modalities WHERE l IN labels(f)]) AS kind, count(*) AS n
