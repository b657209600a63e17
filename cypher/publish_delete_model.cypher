// Delete one (non-current) Model node once its RECOMMENDED relationships are gone.
// Params:  $model (string id)
// Returns: n (nodes deleted: 0 or 1)
MATCH (m:Model {id: $model}) WHERE NOT m.current
DETACH DELETE m
RETURN count(*) AS n
