// Block until an index is online (vector indexes populate in the background).
// Params:  $name (string: index name), $timeout (int: seconds)
// Returns: nothing
CALL db.awaitIndex($name, $timeout)
