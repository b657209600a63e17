// Record which file (path and fingerprint) each feature computed from media was computed from.
// Used by ingest/features/compute.py right after merge_features.cypher wrote the vectors.
// Params:  $rows: list of {id: string (feature id), path: string (absolute),
//                          fingerprint: string ("<size>:<mtime_ns>:<sha256 hex>")}
// Returns: nothing (counters only). Rows naming a missing feature write nothing.
UNWIND $rows AS row
MATCH (f:Feature {id: row.id})
SET f.source_path = row.path, f.source_fingerprint = row.fingerprint
