// Merge relationships of one type between nodes matched by their indexed `id`; its properties
// become exactly the row's (`=`, not `+=`): a relationship is one row (an interaction kept by
// `--on-conflict`), so a value an earlier ingest stored and this row lacks is removed.
// Template: `__SRC__`/`__DST__` are replaced by ingest/writers.py with quoted mmkg.schema.Label
// values and `__REL__` with a quoted mmkg.schema.RelType or kg_relation_type(name).
// Params:  $rows: list of {src: string, dst: string, props: map (missing values left out)}
// Returns: nothing (counters only). Rows whose endpoints do not exist write nothing.
UNWIND $rows AS row
MATCH (a:__SRC__ {id: row.src})
MATCH (b:__DST__ {id: row.dst})
MERGE (a)-[r:__REL__]->(b)
SET r = row.props
