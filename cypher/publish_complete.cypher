// Mark a model version's RECOMMENDED relationships as fully written (a re-run skips them).
// Params:  $model (string id)
// Returns: model (string id)
MATCH (m:Model {id: $model})
SET m.complete = true
RETURN m.id AS model
