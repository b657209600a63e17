// What decides which answer a user gets from `mmkg recommend`: the current model and how it is
// served, whether the user exists, what they listened to, and whether the current model ranks
// them (served from top-K: it has RECOMMENDED relationships for the user; from vectors: the
// user has a vector of it).
// Browser:  :param userId => '2'
// Params:   $userId (string)
// Returns:  model (current Model.id or null), serve ('topk' or 'vectors'; null without a model),
//           stored (int: the model's top-K length, Model.k; null without a model), exists
//           (bool), history (list of track ids), known (bool); one row
OPTIONAL MATCH (m:Model {current: true})
OPTIONAL MATCH (u:User {id: $userId})
WITH m, u, coalesce(m.serve, 'topk') AS serve
RETURN m.id AS model, CASE WHEN m IS NULL THEN null ELSE serve END AS serve, m.k AS stored,
       u IS NOT NULL AS exists,
       COLLECT { MATCH (u)-[:LISTENED]->(t:Track) RETURN t.id } AS history,
       CASE serve
         WHEN 'vectors' THEN u[m.vector_property] IS NOT NULL
         ELSE EXISTS { MATCH (u)-[r:RECOMMENDED]->() WHERE r.model = m.id }
       END AS known
