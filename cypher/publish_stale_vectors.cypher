// The stale vectors of the slot a publish writes (mmkg.schema.VECTOR_SLOTS): the nodes of one
// label holding a vector the publish will not overwrite, i.e. those not in $kept (the run's ids
// of that label), and any serving vector when the new model is not served from vectors. The
// filter runs in Neo4j, so that a slot without stale vectors costs one read of the label and no
// rows (returning every node's id cost 17 s at 10M listens, this 4 s).
// Template: `__LABEL__` (Track or User), `__PROPERTY__` (the slot's vector property),
//           `__SERVING__` (its serving property; no User has one), backtick-quoted by
//           mmkg.graph.render
// Params:  $kept (list of string: ids the publish writes), $servingKept (bool: the publish
//          writes serving vectors for $kept too)
// Returns: id (string), vector (bool: its __PROPERTY__ is stale), serving (bool: its
//          __SERVING__ is stale), one row per node with a stale vector
MATCH (n:__LABEL__)
WITH n, NOT n.id IN $kept AS absent
WITH n, n.__PROPERTY__ IS NOT NULL AND absent AS vector,
     n.__SERVING__ IS NOT NULL AND (absent OR NOT $servingKept) AS serving
WHERE vector OR serving
RETURN n.id AS id, vector, serving
