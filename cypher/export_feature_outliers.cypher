// Listed tracks whose feature `name` lacks the expected dimension or modality.
// Params: $ids (track ids), $name (feature name), $dim (expected vector length),
//         $kind (expected modality label), $limit (most ids returned).
// Columns: ids (list of track ids; one record).
UNWIND $ids AS track_id
MATCH (:Track {id: track_id})-[:HAS_FEATURE]->(f:Feature {name: $name})
WHERE size(f.vector) <> $dim OR coalesce(f.dim, $dim) <> $dim OR NOT $kind IN labels(f)
WITH track_id LIMIT $limit
RETURN collect(track_id) AS ids
