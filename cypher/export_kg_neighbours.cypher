// KG neighbours (either direction) of the listed nodes of one label.
// `__LABEL__` is replaced by a validated, quoted label of mmkg.schema.KG_LABELS.
// Params: $ids (node ids of that label), $kg_labels (KG label names, in mmkg.schema order),
//         $non_kg (relationship types that are not KG edges).
// Columns: nodes (list of [label, id]: the neighbour's first KG label in $kg_labels order and
//          its id; one record).
UNWIND $ids AS node_id
MATCH (:__LABEL__ {id: node_id})-[r]-(b)
WHERE NOT type(r) IN $non_kg AND b.id IS NOT NULL
WITH DISTINCT b
WITH b, [l IN $kg_labels WHERE l IN labels(b)] AS kg
WHERE size(kg) > 0
RETURN collect([kg[0], b.id]) AS nodes
