// Register a model version being published (idempotent: a re-run finds the same node).
// A new Model starts with current = false, complete = false, holds_recommended = false: no
// reader filters on it yet. It stays complete only when its latest publish was in the same
// serving mode (a version published from vectors has no RECOMMENDED to reuse). Its mode (serve,
// serving_norm) is recorded here unless it is the current Model, whose mode readers follow: that
// one's changes at the flip (publish_flip.cypher), so that publishing the current version in the
// other mode changes nothing readers see before it. holds_recommended is set before a publish
// served from top-K writes any RECOMMENDED (publish_recommendations_deleted.cypher clears it).
// Params:  $model (string id), $params, $metrics,
//          $datasetManifest (JSON strings), $dimension (int), $k (int), $summary (map of readable
//          properties: model_type and test metrics, see publish/writer.py model_properties),
//          $serve ('topk' or 'vectors', mmkg.schema.Serve), $servingNorm (float: the largest
//          track vector norm, for 'vectors'; null for 'topk'), $runFolder (string: the absolute
//          path of the run folder published)
// Returns: complete (bool: its RECOMMENDED relationships are all written, or not needed),
//          current (bool), placed (bool: `--new-tracks` extended its lists since they were
//          written, publish_mark_placed.cypher), serve ('topk' or 'vectors': its mode before
//          this call, i.e. how readers follow it when it is current), holdsRecommended (bool:
//          it may have RECOMMENDED relationships, before this call)
MERGE (m:Model {id: $model})
  ON CREATE SET m.created_at = datetime(), m.current = false, m.complete = false,
                m.holds_recommended = false
WITH m, coalesce(m.serve, 'topk') AS served, coalesce(m.holds_recommended, true) AS held
SET m.complete = m.complete AND served = $serve
SET m.params = $params, m.metrics = $metrics, m.dataset_manifest = $datasetManifest,
    m.dimension = $dimension, m.k = $k, m += $summary, m.run_folder = $runFolder,
    m.holds_recommended = held OR $serve = 'topk'
FOREACH (staged IN CASE WHEN m.current THEN [] ELSE [m] END |
  SET staged.serve = $serve, staged.serving_norm = $servingNorm)
RETURN m.complete AS complete, m.current AS current, coalesce(m.placed, false) AS placed,
       served AS serve, held AS holdsRecommended
