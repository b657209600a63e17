// Tracks that have a media file, with the state of the features computed from it, so that
// ingest/features/compute.py (`mmkg features`) can tell which are missing or stale.
// Params:  $media: string        the Track property holding the file's path, relative to the
//                                 root of the track's Catalog ("lyrics", "cover" or "audio")
//          $names: list of string the feature names computed from that media kind
// Returns: track_id: string, path: string (as stored), root: string (the root of the track's
//          Catalog; null for a track with an absolute path and no catalog),
//          features: list of [name, version, source_path, source_fingerprint] (strings or null),
//          one per existing feature of $names   (one row per track, ordered by track_id)
MATCH (t:Track)
WHERE t[$media] IS NOT NULL AND t[$media] <> ''
RETURN t.id AS track_id, t[$media] AS path,
       COLLECT { MATCH (c:Catalog {id: t.catalog}) RETURN c.root }[0] AS root,
       [(t)-[:HAS_FEATURE]->(f:Feature) WHERE f.name IN $names
        | [f.name, f.version, f.source_path, f.source_fingerprint]] AS features
ORDER BY track_id
