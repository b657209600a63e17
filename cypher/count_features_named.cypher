// How many Feature nodes carry one of the given names (features the media.features setting left
// out, which `mmkg features` then removes with delete_features_named.cypher).
// Params:  $names: list of feature names (string)
// Returns: n (integer), one row
MATCH (f:Feature)
WHERE f.name IN $names
RETURN count(f) AS n
