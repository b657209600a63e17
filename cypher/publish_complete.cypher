// Mark a model version's RECOMMENDED relationships as fully written (a re-run skips them) and as
// the run's own lists (no placed track among them: publish_mark_placed.cypher).
// Params:  $model (string id)
// Returns: model (string id)
MATCH (m:Model {id: $model})
SET m.complete = true, m.placed = false
RETURN m.id AS model
