// Nearest tracks to a track by cosine similarity of the current model's embeddings, through the
// current model's track vector index (its Model.track_index); the track itself is excluded.
// Browser:  :param trackId => 't1'; :param k => 10
// Params:   $trackId (string), $k (int)
// Returns:  trackId, title, artist (name or null), score (cosine similarity mapped to [0, 1]),
//           model (Model.id, whose vectors gave the score), best first; no rows when the track
//           is unknown or has no embedding
MATCH (m:Model {current: true})
MATCH (seed:Track {id: $trackId})
WITH m, seed, seed[m.vector_property] AS vector
WHERE vector IS NOT NULL
CALL db.index.vector.queryNodes(m.track_index, toInteger($k) + 1, vector) YIELD node, score
WITH m, node, score WHERE node <> seed
WITH m, node, score ORDER BY score DESC LIMIT toInteger($k)
RETURN node.id AS trackId, node.title AS title,
       COLLECT { MATCH (node)-[:PERFORMED_BY]->(a:Artist) RETURN a.name ORDER BY a.name LIMIT 1 }[0] AS artist,
       score, m.id AS model
ORDER BY score DESC
