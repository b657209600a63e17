// Set the one relationship of a type that a node holds to nodes of a label (a track's artist,
// album and genre; an album's artist: one column of its catalog row each): the row's target is
// merged, and the node's other relationships of that type to that label are deleted, so that a
// corrected catalog, ingested again, moves the link instead of adding a second one.
// Template: `__SRC__`/`__DST__` are replaced by ingest/writers.py with quoted mmkg.schema.Label
// values and `__REL__` with a quoted mmkg.schema.RelType.
// Params:  $rows: list of {src: string, dst: string}, one row per src
// Returns: nothing (counters only: relationships_deleted counts the links moved away). Rows
//          whose endpoints do not exist write nothing.
UNWIND $rows AS row
MATCH (a:__SRC__ {id: row.src})
MATCH (b:__DST__ {id: row.dst})
CALL (a, b) {
  MATCH (a)-[earlier:__REL__]->(other:__DST__)
  WHERE other <> b
  DELETE earlier
}
MERGE (a)-[:__REL__]->(b)
