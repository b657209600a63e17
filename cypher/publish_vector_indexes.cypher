// The vector indexes that exist, with their options (publish recreates one whose
// `vector.dimensions` differs from the model's).
// Params:  none
// Returns: name (string), options (map: indexConfig holds `vector.dimensions`)
SHOW VECTOR INDEXES YIELD name, options
RETURN name, options
