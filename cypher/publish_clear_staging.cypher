// Remove staged vectors left behind by an interrupted publish, $batchSize nodes per transaction.
// Run in an implicit (auto-commit) transaction.
// Params:  $batchSize (int)
// Returns: nothing
MATCH (n:Track|User) WHERE n.embedding_next IS NOT NULL
CALL (n) {
  REMOVE n.embedding_next
} IN TRANSACTIONS OF $batchSize ROWS
