// The swap, in ONE small transaction: the new Model becomes the only current one and names the
// vector slot its vectors were staged in (mmkg.schema.VECTOR_SLOTS). No vector is copied, so its
// size does not grow with the graph. Readers see all-old or all-new: every reader query goes
// through (:Model {current: true}) for its RECOMMENDED relationships, vectors and vector index.
// Params:  $model (string id; its Model node must have complete = true),
//          $vectorProperty, $trackIndex, $userIndex (strings: the slot's property and indexes)
// Returns: model (string id), previous (string id or null)
MATCH (m:Model {id: $model, complete: true})
CALL (m) {
  OPTIONAL MATCH (old:Model {current: true}) WHERE old <> m
  SET old.current = false
  REMOVE old.vector_property, old.track_index, old.user_index
  RETURN head(collect(old.id)) AS previous
}
SET m.current = true, m.published_at = datetime(),
    m.vector_property = $vectorProperty, m.track_index = $trackIndex, m.user_index = $userIndex
RETURN m.id AS model, previous
