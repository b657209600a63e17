// One page of the raw vectors of one feature name, in id order (keyset pagination on the
// Feature id constraint's index: a page costs the same wherever it starts).
// Params:  $name (string: Feature.name), $after (string: the last id of the previous page, '' for
//          the first), $limit (int: page size)
// Returns: id (string: Feature.id), vector (list of float), calibrated (bool: it holds a calibrated
//          vector), at most $limit rows, by id
MATCH (f:Feature)
WHERE f.id > $after AND f.name = $name
RETURN f.id AS id, f.vector AS vector, f.calibrated IS NOT NULL AS calibrated
ORDER BY f.id
LIMIT toInteger($limit)
