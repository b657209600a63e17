// Stage the new model's user vectors in the vector slot it writes (mmkg.schema.VECTOR_SLOTS:
// not the current model's, so invisible to readers until the flip).
// Template: `__PROPERTY__` (the slot's property, backtick-quoted by mmkg.graph.render)
// Params:  $rows = [{id: string, vector: [float]}]
// Returns: nothing (a node found counts one property set)
UNWIND $rows AS row
MATCH (u:User {id: row.id})
SET u.__PROPERTY__ = row.vector
