// KG neighbours (either direction) of the listed nodes of one label, one row per neighbour.
// `__LABEL__` is replaced by a validated, quoted label of mmkg.schema.KG_LABELS.
// Params: $ids (node ids of that label), $kg_labels (KG label names, in mmkg.schema order),
//         $non_kg (relationship types that are not KG edges).
// Columns: label (the neighbour's first KG label in $kg_labels order), id (string).
UNWIND $ids AS node_id
MATCH (:__LABEL__ {id: node_id})-[r]-(b)
WHERE NOT type(r) IN $non_kg
WITH DISTINCT b
WITH b, [l IN $kg_labels WHERE l IN labels(b)] AS kg
WHERE size(kg) > 0
RETURN kg[0] AS label, b.id AS id
