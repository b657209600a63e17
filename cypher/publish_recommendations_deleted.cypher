// Record that a model version has no RECOMMENDED relationships left: a publish served from
// vectors deleted them (publish_delete_recommendations.cypher), so a later one need not again.
// Params:  $model (string id)
// Returns: model (string id)
MATCH (m:Model {id: $model})
SET m.holds_recommended = false
RETURN m.id AS model
