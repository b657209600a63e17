// Whether each listed track exists and has an embedding of the current model (checked before
// similarity queries).
// Browser:  :param trackIds => ['1', '2']
// Params:   $trackIds (list of string)
// Returns:  id (string), exists (bool), embedded (bool), model (the current model's id, or null
//           when none is published); one row per listed id
OPTIONAL MATCH (m:Model {current: true})
WITH m.id AS model, coalesce(m.vector_property, '') AS vectors
UNWIND $trackIds AS id
OPTIONAL MATCH (t:Track {id: id})
RETURN id, t IS NOT NULL AS exists, t[vectors] IS NOT NULL AS embedded, model
