// Register a model version being published (idempotent: a re-run finds the same node).
// A new Model starts with current = false, complete = false: no reader filters on it yet.
// Its serving mode is recorded; a re-run in another mode than an earlier run of the same version
// is not complete (a version published from vectors has no RECOMMENDED to reuse).
// Params:  $model (string id), $params, $metrics,
//          $datasetManifest (JSON strings), $dimension (int), $k (int), $summary (map of readable
//          properties: model_type and test metrics, see publish/writer.py model_properties),
//          $serve ('topk' or 'vectors', mmkg.schema.Serve), $servingNorm (float: the largest
//          track vector norm, for 'vectors'; null for 'topk'), $runFolder (string: the absolute
//          path of the run folder published)
// Returns: complete (bool: its RECOMMENDED relationships are all written, or not needed),
//          current (bool), placed (bool: `--new-tracks` extended its lists since they were
//          written, publish_mark_placed.cypher)
MERGE (m:Model {id: $model})
  ON CREATE SET m.created_at = datetime(), m.current = false, m.complete = false
SET m.complete = m.complete AND coalesce(m.serve, 'topk') = $serve
SET m.params = $params, m.metrics = $metrics, m.dataset_manifest = $datasetManifest,
    m.dimension = $dimension, m.k = $k, m += $summary,
    m.serve = $serve, m.serving_norm = $servingNorm, m.run_folder = $runFolder
RETURN m.complete AS complete, m.current AS current, coalesce(m.placed, false) AS placed
