// The property holding the current model's vectors; publish writes the other vector slot
// (mmkg.schema.VECTOR_SLOTS).
// Params:  none
// Returns: property (string, or null when no model is current); one row
OPTIONAL MATCH (m:Model {current: true})
RETURN m.vector_property AS property
