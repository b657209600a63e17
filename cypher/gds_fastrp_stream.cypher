// FastRP embeddings (GDS) of the nodes numbered below $n_vectors of the projected graph $graph_name.
// Params: $graph_name (string), $n_vectors (int), $dim (int), $iteration_weights (list of float),
//         $normalization_strength (float), $node_self_influence (float), $seed (int).
// Columns: node (the caller's node number), embedding (list of float); one row per node.
CALL gds.fastRP.stream($graph_name, {
  embeddingDimension: $dim,
  iterationWeights: $iteration_weights,
  normalizationStrength: $normalization_strength,
  nodeSelfInfluence: $node_self_influence,
  randomSeed: $seed
})
YIELD nodeId, embedding
WHERE nodeId < $n_vectors
RETURN nodeId AS node, embedding
