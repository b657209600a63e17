// Names of every constraint. Used when a database is emptied.
// Params:  none
// Returns: name (string), one row per constraint
SHOW CONSTRAINTS YIELD name
RETURN name
