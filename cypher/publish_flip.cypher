// The swap, in ONE small transaction: the new Model becomes the only current one, takes the
// serving mode it was published in (serve, serving_norm: readers follow them) and names the
// vector slot its vectors were staged in (mmkg.schema.VECTOR_SLOTS), and for a model served
// from vectors (Model.serve = 'vectors') the slot's serving property and index. No vector is
// copied, so its size does not grow with the graph. Readers see all-old or all-new: every reader
// query goes through (:Model {current: true}) for its RECOMMENDED relationships, vectors and
// vector indexes.
// Params:  $model (string id; its Model node must have complete = true),
//          $vectorProperty, $trackIndex (strings: the slot's property and Track index),
//          $userIndex (string: the slot's User index, or null when publish built none),
//          $servingProperty, $servingIndex (strings, or null for a model served from top-K),
//          $serve ('topk' or 'vectors'), $servingNorm (float, or null for 'topk')
// Returns: model (string id), previous (string id of the Model that was current, or null when
//          none or the same), previousPublishedAt (datetime: when that one became current, its
//          published_at; null when none)
MATCH (m:Model {id: $model, complete: true})
CALL (m) {
  OPTIONAL MATCH (old:Model {current: true}) WHERE old <> m
  SET old.current = false
  REMOVE old.vector_property, old.track_index, old.user_index, old.serving_property, old.serving_index
  RETURN head(collect(old.id)) AS previous, head(collect(old.published_at)) AS previousPublishedAt
}
SET m.current = true, m.published_at = datetime(), m.serve = $serve, m.serving_norm = $servingNorm,
    m.vector_property = $vectorProperty, m.track_index = $trackIndex, m.user_index = $userIndex,
    m.serving_property = $servingProperty, m.serving_index = $servingIndex
RETURN m.id AS model, previous, previousPublishedAt
