// Recommendations for a new user known only by tracks they like: the mean of those tracks'
// embeddings is looked up in the vector index `track_embedding`; the liked tracks are excluded.
// Browser:  :params {trackIds: ['t1', 't2', 't3'], k: 5}
// Params:   $trackIds (list of string), $k (int)
// Returns:  trackId, title, artist (name or null), score (cosine similarity mapped to [0, 1]),
//           best first; no rows when none of the tracks has an embedding
MATCH (liked:Track) WHERE liked.id IN $trackIds AND liked.embedding IS NOT NULL
WITH collect(liked) AS likedTracks, collect(liked.embedding) AS vectors
WHERE size(vectors) > 0
WITH likedTracks,
     [i IN range(0, size(vectors[0]) - 1) | reduce(s = 0.0, v IN vectors | s + v[i]) / size(vectors)] AS centroid
CALL db.index.vector.queryNodes('track_embedding', toInteger($k) + size(likedTracks), centroid) YIELD node, score
WITH node, score WHERE NOT node IN likedTracks
WITH node, score ORDER BY score DESC LIMIT toInteger($k)
RETURN node.id AS trackId, node.title AS title,
       COLLECT { MATCH (node)-[:PERFORMED_BY]->(a:Artist) RETURN a.name ORDER BY a.name LIMIT 1 }[0] AS artist,
       score
ORDER BY score DESC
