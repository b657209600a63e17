// Merge feature nodes of one modality and attach them to their tracks.
// Template: `__KIND__` is replaced by ingest/writers.py with a quoted mmkg.schema.Modality.
// Params:  $rows: list of {track: string, id: string (feature_id(track, name)), vector: list of float}
//          $props: map {name, dim, extractor, version, source} shared by the whole feature set
// Returns: nothing (counters only). Rows whose track does not exist write nothing.
UNWIND $rows AS row
MATCH (t:Track {id: row.track})
MERGE (f:Feature {id: row.id})
SET f:__KIND__, f += $props, f.vector = row.vector
MERGE (t)-[:HAS_FEATURE]->(f)
