// Stage the new model's track vectors and their serving vectors (a model published with
// serve = 'vectors') in one pass over the tracks: each track vector t in the slot's vector
// property, and t mapped to [t / M, sqrt(1 - |t|^2 / M^2)] (M = the largest track norm, the
// Model's serving_norm) in the slot's serving property, so that the cosine of [u, 0] with it
// orders tracks by the dot product u . t, the model's score. Both are properties of the slot
// (mmkg.schema.VECTOR_SLOTS), which no reader looks at until the flip.
// Template: `__PROPERTY__` (the slot's vector property), `__SERVING__` (its serving property),
//           backtick-quoted by mmkg.graph.render
// Params:  $rows = [{id: string, vector: [float], serving: [float]}]
// Returns: nothing (a node found counts two property sets)
UNWIND $rows AS row
MATCH (t:Track {id: row.id})
SET t.__PROPERTY__ = row.vector, t.__SERVING__ = row.serving
