// Stage the serving vectors of the new model's tracks (a model published with serve = 'vectors'):
// each track vector t mapped to [t / M, sqrt(1 - |t|^2 / M^2)] (M = the largest track norm, the
// Model's serving_norm), so that the cosine of [u, 0] with it orders tracks by the dot product
// u . t, the model's score. Written into the slot's serving property (mmkg.schema.VECTOR_SLOTS),
// which no reader looks at until the flip.
// Template: `__PROPERTY__` (the slot's serving property, backtick-quoted by mmkg.graph.render)
// Params:  $rows = [{id: string, vector: [float]}]
// Returns: nothing (a node found counts one property set)
UNWIND $rows AS row
MATCH (t:Track {id: row.id})
SET t.__PROPERTY__ = row.vector
