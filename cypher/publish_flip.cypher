// The swap, in ONE transaction: staged vectors become `embedding` (nodes the new model does not
// cover lose theirs), the new Model becomes the only current one. Readers see all-old or all-new.
// Params:  $model (string id; its Model node must have complete = true)
// Returns: model (string id), tracks (int), users (int), previous (string id or null)
MATCH (m:Model {id: $model, complete: true})
CALL (m) {
  MATCH (n:Track|User) WHERE n.embedding IS NOT NULL AND n.embedding_next IS NULL
  REMOVE n.embedding
}
CALL (m) {
  MATCH (n:Track|User) WHERE n.embedding_next IS NOT NULL
  SET n.embedding = n.embedding_next
  REMOVE n.embedding_next
  RETURN count(CASE WHEN n:Track THEN 1 END) AS tracks, count(CASE WHEN n:User THEN 1 END) AS users
}
CALL (m) {
  OPTIONAL MATCH (old:Model {current: true}) WHERE old <> m
  SET old.current = false
  RETURN head(collect(old.id)) AS previous
}
SET m.current = true, m.published_at = datetime()
RETURN m.id AS model, tracks, users, previous
