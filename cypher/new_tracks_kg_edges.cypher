// KG relationships of the listed tracks in both directions (tracks newer than a training run:
// `mmkg publish RUN --new-tracks` places them among the entities the run knows).
// Params:  $ids (track ids), $kg_labels (KG label names, in mmkg.schema order),
//          $non_kg (relationship types that are not KG edges)
// Returns: edges (list of [track id, relationship type, 'out' or 'in', the other node's first
//          KG label in $kg_labels order, its id]; one record)
UNWIND $ids AS track_id
MATCH (:Track {id: track_id})-[r]-(b)
WHERE NOT type(r) IN $non_kg AND b.id IS NOT NULL
WITH track_id, r, b, startNode(r) = b AS incoming, [l IN $kg_labels WHERE l IN labels(b)] AS kg
WHERE size(kg) > 0
RETURN collect([track_id, type(r), CASE WHEN incoming THEN 'in' ELSE 'out' END, kg[0], b.id]) AS edges
