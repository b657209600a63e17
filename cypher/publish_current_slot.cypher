// The current model and the property holding its vectors; publish writes the other vector slot
// (mmkg.schema.VECTOR_SLOTS), `publish --new-tracks` adds new tracks' vectors to this one.
// Params:  none
// Returns: model (string id), property (string); both null when no model is current; one row
OPTIONAL MATCH (m:Model {current: true})
RETURN m.id AS model, m.vector_property AS property
