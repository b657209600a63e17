// Remove one vector property from given nodes of one label: the stale vectors of the slot a
// publish writes (nodes that hold one but are not in the model being published). Idempotent.
// Template: `__LABEL__` (Track or User), `__PROPERTY__` (a slot's vector or serving property),
//           backtick-quoted by mmkg.graph.render
// Params:  $rows = [string] (node ids)
// Returns: nothing
UNWIND $rows AS id
MATCH (n:__LABEL__ {id: id})
REMOVE n.__PROPERTY__
