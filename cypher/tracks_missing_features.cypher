// Tracks that have a media file but lack at least one of the features computed from it.
// Used by ingest/features/compute.py (`mmkg features`), which makes the computation resumable.
// Params:  $media: string        the Track property holding the file's absolute path
//                                 ("lyrics", "cover" or "audio")
//          $names: list of string the feature names computed from that media kind
// Returns: track_id: string, path: string   (one row per track, ordered by track_id)
MATCH (t:Track)
WHERE t[$media] IS NOT NULL AND t[$media] <> ''
  AND COUNT { (t)-[:HAS_FEATURE]->(f:Feature) WHERE f.name IN $names } < size($names)
RETURN t.id AS track_id, t[$media] AS path
ORDER BY track_id
