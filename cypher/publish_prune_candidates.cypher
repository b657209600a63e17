// Model versions to delete: every non-current version except the $keep most recent complete ones
// (incomplete leftovers of interrupted publishes older than the current model go too).
// Params:  $keep (int >= 0)
// Returns: model (string id), complete (bool), one row per version to delete
MATCH (cur:Model {current: true})
MATCH (m:Model) WHERE m <> cur AND (m.complete OR m.created_at < cur.created_at)
WITH m ORDER BY m.complete DESC, m.created_at DESC
WITH collect(m) AS candidates
UNWIND range(0, size(candidates) - 1) AS i
WITH candidates[i] AS m, i
WHERE NOT (m.complete AND i < $keep)
RETURN m.id AS model, m.complete AS complete
