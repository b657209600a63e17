// Replace the initial password of a fresh local server (run against the `system` database by
// `mmkg db start`, connected with the initial password).
// Params:  $old (string: the initial password), $new (string: the configured password)
// Returns: nothing
ALTER CURRENT USER SET PASSWORD FROM $old TO $new
