// Delete every RECOMMENDED relationship of one model version, $batchSize users per transaction.
// Run in an implicit (auto-commit) transaction: CALL ... IN TRANSACTIONS commits as it goes.
// Params:  $model (string id), $batchSize (int, users per transaction)
// Returns: nothing
MATCH (u:User)
CALL (u) {
  MATCH (u)-[r:RECOMMENDED {model: $model}]->()
  DELETE r
} IN TRANSACTIONS OF $batchSize ROWS
