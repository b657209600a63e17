// Whether each listed track exists and has an embedding (checked before similarity queries).
// Browser:  :param trackIds => ['1', '2']
// Params:   $trackIds (list of string)
// Returns:  id (string), exists (bool), embedded (bool); one row per listed id
UNWIND $trackIds AS id
OPTIONAL MATCH (t:Track {id: id})
RETURN id, t IS NOT NULL AS exists, t.embedding IS NOT NULL AS embedded
