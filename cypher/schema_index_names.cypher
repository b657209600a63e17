// Names of every index except the two built-in token lookup indexes (constraint-backed ones
// included). Used by `mmkg db init` (what exists) and by emptying a database.
// Params:  none
// Returns: name (string), one row per index
SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP'
RETURN name
