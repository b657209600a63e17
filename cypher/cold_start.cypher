// Recommendations for a new user known only by tracks they like: the mean of those tracks'
// current embeddings is looked up in the current model's track vector index (Model.track_index);
// the liked tracks are excluded. With $newOnly, only new releases (tracks nobody has listened
// to), and with $genre, only tracks of that genre: each such track that has a vector is compared
// with the mean exactly (the index's nearest tracks would mostly be listened ones, or of other
// genres, and a filtered index answer falls short of $k).
// Browser:  :param trackIds => ['t1', 't2', 't3']; :param k => 10; :param genre => null;
//           :param newOnly => false
// Params:   $trackIds (list of string), $k (int), $genre (Genre id, or name in any case, or null
//           = any genre), $newOnly (bool)
// Returns:  trackId, title, artist (name or null), score (cosine similarity mapped to [0, 1]),
//           model (Model.id, whose vectors gave the score), best first; no rows when none of
//           the tracks has an embedding
MATCH (m:Model {current: true})
MATCH (liked:Track) WHERE liked.id IN $trackIds
// The dynamic property is read after a WITH: in the MATCH's WHERE Neo4j reports it (a
// DynamicProperty notification, shown as a Warn tab in the Browser).
WITH m, liked, liked[m.vector_property] AS vector WHERE vector IS NOT NULL
WITH m, collect(liked) AS likedTracks, collect(vector) AS vectors
WHERE size(vectors) > 0
WITH m, likedTracks,
     [i IN range(0, size(vectors[0]) - 1) | reduce(s = 0.0, v IN vectors | s + v[i]) / size(vectors)] AS centroid
CALL (m, likedTracks, centroid) {
  WITH * WHERE NOT $newOnly AND $genre IS NULL
  CALL db.index.vector.queryNodes(m.track_index, toInteger($k) + size(likedTracks), centroid) YIELD node, score
  RETURN node, score
  UNION
  WITH * WHERE $newOnly OR $genre IS NOT NULL
  CALL () {  // the candidates: every track, or the tracks of the genre (read from the genre)
    WITH * WHERE $genre IS NULL
    MATCH (node:Track)
    RETURN node
    UNION
    MATCH (g:Genre) WHERE $genre IS NOT NULL AND (g.id = $genre OR toLower(g.name) = toLower($genre))
    MATCH (node:Track)-[:HAS_GENRE]->(g)
    RETURN node
  }
  WITH m, centroid, node WHERE NOT $newOnly OR NOT EXISTS { (node)<-[:LISTENED]-(:User) }
  WITH node, node[m.vector_property] AS vector, centroid WHERE vector IS NOT NULL
  RETURN node, vector.similarity.cosine(centroid, vector) AS score
}
WITH m, node, score, likedTracks WHERE NOT node IN likedTracks
WITH m, node, score ORDER BY score DESC LIMIT toInteger($k)
RETURN node.id AS trackId, node.title AS title,
       COLLECT { MATCH (node)-[:PERFORMED_BY]->(a:Artist) RETURN a.name ORDER BY a.name LIMIT 1 }[0] AS artist,
       score, m.id AS model
ORDER BY score DESC
