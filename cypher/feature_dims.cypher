// The dimension already stored for each of the given feature names (names without features are
// left out). Used by `mmkg ingest` to refuse vectors whose dimension differs from the stored ones.
// Params:  $names: list of feature names (string)
// Returns: name (string), dim (integer), one row per name that has features
UNWIND $names AS name
CALL (name) {
  MATCH (f:Feature)
  WHERE f.name = name
  RETURN f.dim AS dim
  LIMIT 1
}
RETURN name, dim
