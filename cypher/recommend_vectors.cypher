// Top-K tracks for a user of a model served from vectors (Model.serve = 'vectors'), ranked at
// query time: the user's vector of the current model, extended by a 0, is looked up in the
// current model's track serving index (Model.serving_index: track vectors mapped so that cosine
// order is dot-product order, the model's score, and not quantized). The index is asked for
// max($k, Model.k) more neighbours than the user LISTENED to tracks: the model's top list, as
// recommend.cypher reads it, over-fetched because the index's search is approximate and finds
// the best few more surely in a wider beam. The listened ones are skipped, the rest ranked by
// their exact dot product with the user's vector, then filtered by $genre and $newOnly.
// Browser:  :param userId => 'u1'; :param k => 10; :param genre => null; :param newOnly => false
// Params:   $userId (string), $k (int), $genre (Genre id, or name in any case, or null = any genre),
//           $newOnly (bool: true = only new releases, tracks nobody has LISTENED to)
// Returns:  rank (int, 1 = best of the model's tracks the user did not listen to), trackId,
//           title, artist (name or null), score (float: sigmoid of the dot product, as in
//           RECOMMENDED.score), model (Model.id); no rows when the user has no vector
// Model.serving_index is read from properties(m): a database that never served from vectors
// has no such property key, and m.serving_index would raise a notification (01N52, a Warn tab).
MATCH (m:Model {current: true})
WITH m LIMIT 1  // one current model even while a flip commits (see recommend.cypher)
WITH m, properties(m).serving_index AS servingIndex WHERE servingIndex IS NOT NULL
MATCH (u:User {id: $userId})
// The dynamic property is read after a WITH: in the MATCH's WHERE Neo4j reports it (a
// DynamicProperty notification, shown as a Warn tab in the Browser).
WITH m, servingIndex, u, u[m.vector_property] AS vector
WHERE vector IS NOT NULL
WITH m, servingIndex, vector, COLLECT { MATCH (u)-[:LISTENED]->(h:Track) RETURN h } AS heard
CALL db.index.vector.queryNodes(servingIndex,
       CASE WHEN toInteger($k) > m.k THEN toInteger($k) ELSE m.k END + size(heard),
       vector + [0.0]) YIELD node
WITH m, vector, node, node[m.vector_property] AS tv WHERE NOT node IN heard
WITH m, node, reduce(s = 0.0, i IN range(0, size(vector) - 1) | s + vector[i] * tv[i]) AS dot
ORDER BY dot DESC
WITH m, collect({track: node, dot: dot}) AS ranked
UNWIND range(1, size(ranked)) AS rank
WITH m, rank, ranked[rank - 1].track AS t, ranked[rank - 1].dot AS dot
WHERE ($genre IS NULL OR EXISTS { (t)-[:HAS_GENRE]->(g:Genre) WHERE g.id = $genre OR toLower(g.name) = toLower($genre) })
  AND (NOT $newOnly OR NOT EXISTS { (t)<-[:LISTENED]-(:User) })
WITH m, rank, t, dot ORDER BY rank LIMIT toInteger($k)
RETURN rank, t.id AS trackId, t.title AS title,
       COLLECT { MATCH (t)-[:PERFORMED_BY]->(a:Artist) RETURN a.name ORDER BY a.name LIMIT 1 }[0] AS artist,
       1.0 / (1.0 + exp(-dot)) AS score, m.id AS model
ORDER BY rank
