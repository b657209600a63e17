// FastRP embeddings (GDS) of the users and tracks of the projected graph $graph_name.
// Params: $graph_name (string), $dim (int), $iteration_weights (list of float),
//         $normalization_strength (float), $node_self_influence (float), $seed (int).
// Columns: user (true for a User, false for a Track), id (node id), embedding (list of float);
//          one row per user or track.
CALL gds.fastRP.stream($graph_name, {
  embeddingDimension: $dim,
  iterationWeights: $iteration_weights,
  normalizationStrength: $normalization_strength,
  nodeSelfInfluence: $node_self_influence,
  randomSeed: $seed
})
YIELD nodeId, embedding
WITH gds.util.asNode(nodeId) AS node, embedding
WHERE node:User OR node:Track
RETURN node:User AS user, node.id AS id, embedding
