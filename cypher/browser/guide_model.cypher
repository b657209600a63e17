// Guide slide 4, the current model: version, when it was published, what it holds (its params
// and metrics are JSON text on the node, shown in the Browser's node inspector).
// Browser:  (no parameters)
// Params:   none
// Returns:  model (id), created_at, dimension (int: embedding size), k (int: recommendations per user)
MATCH (m:Model {current: true})
RETURN m.id AS model, m.created_at AS created_at, m.dimension AS dimension, m.k AS k
