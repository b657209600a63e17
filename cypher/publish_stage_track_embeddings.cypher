// Stage the new model's track vectors in the vector slot it writes (mmkg.schema.VECTOR_SLOTS:
// not the current model's, so invisible to readers until the flip).
// Template: `__PROPERTY__` (the slot's property, backtick-quoted by mmkg.graph.render)
// Params:  $rows = [{id: string, vector: [float]}]
// Returns: nothing (a node found counts one property set)
UNWIND $rows AS row
MATCH (t:Track {id: row.id})
SET t.__PROPERTY__ = row.vector
