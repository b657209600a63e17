// Delete every node and relationship, $batchSize nodes per transaction (constraints and indexes
// stay). Run in an implicit (auto-commit) transaction: CALL ... IN TRANSACTIONS commits as it goes.
// Params:  $batchSize (int)
// Returns: nothing
MATCH (n)
CALL (n) {
  DETACH DELETE n
} IN TRANSACTIONS OF $batchSize ROWS
