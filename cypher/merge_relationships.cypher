// Merge property-less relationships of one type between nodes matched by their indexed `id`.
// Template: `__SRC__`/`__DST__` are replaced by ingest/writers.py with quoted mmkg.schema.Label
// values and `__REL__` with a quoted mmkg.schema.RelType or kg_relation_type(name).
// Params:  $rows: list of {src: string, dst: string}
// Returns: nothing (counters only). Rows whose endpoints do not exist write nothing.
UNWIND $rows AS row
MATCH (a:__SRC__ {id: row.src})
MATCH (b:__DST__ {id: row.dst})
MERGE (a)-[:__REL__]->(b)
