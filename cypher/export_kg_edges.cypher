// Outgoing KG relationships of the listed nodes of one label, one row per source node and
// (type, target label) with the target ids collected. `__LABEL__` is replaced by a validated,
// quoted label of mmkg.schema.KG_LABELS.
// Params: $ids (source node ids), $kg_labels (KG label names, in mmkg.schema order),
//         $non_kg (relationship types that are not KG edges).
// Columns: src (string), rel (relationship type), dst_label (target's first KG label in
//          $kg_labels order), dst (list of target ids).
UNWIND $ids AS node_id
MATCH (:__LABEL__ {id: node_id})-[r]->(b)
WHERE NOT type(r) IN $non_kg
WITH node_id, r, b, [l IN $kg_labels WHERE l IN labels(b)] AS kg
WHERE size(kg) > 0
RETURN node_id AS src, type(r) AS rel, kg[0] AS dst_label, collect(b.id) AS dst
