// Upsert nodes of one label, keyed by the constrained `id` (idempotent: safe to re-run or retry).
// Template: `__LABEL__` is replaced by ingest/writers.py with a quoted mmkg.schema.Label.
// Params:  $rows: list of {id: string, props: map of property -> value (missing ones left out)}
// Returns: nothing (counters only).
UNWIND $rows AS row
MERGE (n:__LABEL__ {id: row.id})
SET n += row.props
