// Record that `mmkg publish RUN --new-tracks` extended model $model's RECOMMENDED lists with tracks
// its run did not train on (Model.placed): a later publish of this version restores the run's own
// lists unless new tracks are placed again right after it (publish_begin.cypher returns the flag).
// Params:  $model (string id)
// Returns: model (string id)
MATCH (m:Model {id: $model})
SET m.placed = true
RETURN m.id AS model
