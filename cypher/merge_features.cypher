// Merge feature nodes of one modality and attach them to their tracks.
// Template: `__KIND__` is replaced by ingest/writers.py with a quoted mmkg.schema.Modality.
// Params:  $rows: list of {track: string, id: string (feature_id(track, name)), vector: list of float,
//                   summary: map of readable scalars of this vector (tempo_bpm, dominant_colour, ...; may be empty)}
//          $props: map {name, dim, extractor, version, source} shared by the whole feature set
// Returns: nothing (counters only). Rows whose track does not exist write nothing.
// A new vector drops the source file's path and fingerprint: features computed from media get
// them back from set_feature_sources.cypher once written, so a run stopped between the two is
// seen as stale (recomputed) by tracks_missing_features.cypher, never as fresh. It also drops
// the calibrated copy that publish derived from the old vector (publish/calibrate.py): explain
// gives no modality reason from it until the next publish calibrates the new one.
UNWIND $rows AS row
MATCH (t:Track {id: row.track})
MERGE (f:Feature {id: row.id})
SET f:__KIND__, f += $props, f += row.summary, f.vector = row.vector
REMOVE f.source_path, f.source_fingerprint, f.calibrated
MERGE (t)-[:HAS_FEATURE]->(f)
