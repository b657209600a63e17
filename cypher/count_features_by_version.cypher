// How many Feature nodes the database holds, per feature name and extractor version (what
// `mmkg features --list` prints beside the registered features, and how `mmkg features` counts
// the vectors of the features the media.features setting leaves out before it removes them).
// Params:  none
// Returns: name (string), version (string or null), n (integer), one row per (name, version)
MATCH (f:Feature)
WHERE f.name IS NOT NULL
RETURN f.name AS name, f.version AS version, count(f) AS n
ORDER BY name, version
