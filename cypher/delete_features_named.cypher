// Delete the Feature nodes that carry one of the given names, with their HAS_FEATURE
// relationships, $batchSize nodes per transaction: the registered features the media.features
// setting leaves out (another recipe of the same media), so that an export never mixes two.
// Run in an implicit (auto-commit) transaction: CALL ... IN TRANSACTIONS commits as it goes; a
// run cut short leaves some of them, and the next `mmkg features` deletes the rest.
// Params:  $names: list of feature names (string), $batchSize (int)
// Returns: nothing
MATCH (f:Feature)
WHERE f.name IN $names
CALL (f) {
  DETACH DELETE f
} IN TRANSACTIONS OF $batchSize ROWS
