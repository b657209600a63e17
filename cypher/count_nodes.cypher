// How many nodes the database holds (answered from the count store, without a scan).
// Used by `mmkg ingest --bulk`, which only loads an empty database.
// Params:  none
// Returns: n (integer)
MATCH (n)
RETURN count(n) AS n
