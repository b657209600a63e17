// Drop one kind of media from tracks whose file is gone (`mmkg features --drop-missing`): the
// track's media property (its path) and its features computed from that kind of media, so that
// nothing keeps describing a file the catalog no longer has and no run warns of it again.
// Template: `__PROP__` is replaced by ingest/features/compute.py with a media property of
//           mmkg.schema.MEDIA_PROPS (`lyrics`, `cover`, `audio`).
// Params:  $rows: list of {id: string (track id)}; $names: the feature names of that media kind
// Returns: nothing (counters only: properties_set counts the paths removed, nodes_deleted the
//          features). Idempotent: a re-run finds no path to remove.
UNWIND $rows AS row
MATCH (t:Track {id: row.id})
OPTIONAL MATCH (t)-[:HAS_FEATURE]->(f:Feature)
  WHERE f.name IN $names
WITH t, collect(f) AS features
REMOVE t.__PROP__
FOREACH (f IN features | DETACH DELETE f)
