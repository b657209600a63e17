// The feature names present in the catalog, which publish calibrates (publish/calibrate.py).
// Params:  none
// Returns: name (string), one row per distinct Feature.name, in name order
MATCH (f:Feature)
RETURN DISTINCT f.name AS name
ORDER BY name
