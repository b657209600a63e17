// How many tracks the graph holds (from the count store, without a scan): those beyond a
// published run's are the ones `mmkg publish RUN --new-tracks` places.
// Params:  none
// Returns: n (integer)
MATCH (t:Track)
RETURN count(t) AS n
