// Register a model version being published (idempotent: a re-run finds the same node).
// A new Model starts with current = false, complete = false: no reader filters on it yet.
// Params:  $model (string id), $params, $metrics,
//          $datasetManifest (JSON strings), $dimension (int), $k (int), $summary (map of readable
//          properties: model_type and test metrics, see publish/writer.py model_properties)
// Returns: complete (bool: its RECOMMENDED relationships are all written), current (bool)
MERGE (m:Model {id: $model})
  ON CREATE SET m.created_at = datetime(), m.current = false, m.complete = false
SET m.params = $params, m.metrics = $metrics, m.dataset_manifest = $datasetManifest,
    m.dimension = $dimension, m.k = $k, m += $summary
RETURN m.complete AS complete, m.current AS current
