// Nearest tracks to a track by cosine similarity of the current model's embeddings, through the
// vector index `track_embedding` (mmkg.schema.VECTOR_INDEXES); the track itself is excluded.
// Browser:  :params {trackId: 't1', k: 5}
// Params:   $trackId (string), $k (int)
// Returns:  trackId, title, artist (name or null), score (cosine similarity mapped to [0, 1]),
//           best first; no rows when the track is unknown or has no embedding
MATCH (seed:Track {id: $trackId})
WHERE seed.embedding IS NOT NULL
CALL db.index.vector.queryNodes('track_embedding', toInteger($k) + 1, seed.embedding) YIELD node, score
WITH node, score WHERE node <> seed
WITH node, score ORDER BY score DESC LIMIT toInteger($k)
RETURN node.id AS trackId, node.title AS title,
       COLLECT { MATCH (node)-[:PERFORMED_BY]->(a:Artist) RETURN a.name ORDER BY a.name LIMIT 1 }[0] AS artist,
       score
ORDER BY score DESC
