// Release the publish lock if its owner still holds it (a lock broken meanwhile is left alone).
// Run through run_batches (one row), so that a release after Neo4j died gives up quickly.
// Params:  $rows ([{owner: string token of the publish releasing it}])
// Returns: nothing
UNWIND $rows AS row
OPTIONAL MATCH (l:PublishLock {id: 'publish', owner: row.owner})
DELETE l
