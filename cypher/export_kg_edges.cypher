// Outgoing KG relationships of the listed nodes of one label.
// `__LABEL__` is replaced by a validated, quoted label of mmkg.schema.KG_LABELS.
// Params: $ids (source node ids), $kg_labels (KG label names, in mmkg.schema order),
//         $non_kg (relationship types that are not KG edges).
// Columns: edges (list of [source id, relationship type, target's first KG label in
//          $kg_labels order, target id]; one record).
UNWIND $ids AS node_id
MATCH (:__LABEL__ {id: node_id})-[r]->(b)
WHERE NOT type(r) IN $non_kg AND b.id IS NOT NULL
WITH node_id, r, b, [l IN $kg_labels WHERE l IN labels(b)] AS kg
WHERE size(kg) > 0
RETURN collect([node_id, type(r), kg[0], b.id]) AS edges
