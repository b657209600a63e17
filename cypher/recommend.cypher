// Top-K tracks for a user from the current model's RECOMMENDED relationships, best first,
// without tracks the user already LISTENED to; optionally only tracks of one genre, or only new
// releases (tracks nobody has LISTENED to: the model places them by media and KG facts alone).
// Browser:  :param userId => 'u1'; :param k => 10; :param genre => null; :param newOnly => false
// Params:   $userId (string), $k (int), $genre (Genre id, or name in any case, or null = any genre),
//           $newOnly (bool: true = only tracks without a listen)
// Returns:  rank (int, 1 = best of the model's list), trackId, title, artist (name or null),
//           score (float), model (Model.id); no rows when the user has none, and none when the
//           current model is served from vectors (Model.serve = 'vectors':
//           recommend_vectors.cypher ranks its tracks; RECOMMENDED a publish of it from top-K
//           left are deleted by its publish, and never read)
// One current model even while a flip commits: under read committed, the scan for current
// models may meet the old one before the flip and the new one after it.
MATCH (m:Model {current: true})
WITH m LIMIT 1
WITH m.id AS model, coalesce(m.serve, 'topk') AS serve
WHERE serve = 'topk'
MATCH (u:User {id: $userId})-[r:RECOMMENDED]->(t:Track)
WHERE r.model = model
  AND NOT EXISTS { (u)-[:LISTENED]->(t) }
  AND ($genre IS NULL OR EXISTS { (t)-[:HAS_GENRE]->(g:Genre) WHERE g.id = $genre OR toLower(g.name) = toLower($genre) })
  AND (NOT $newOnly OR NOT EXISTS { (t)<-[:LISTENED]-(:User) })
WITH model, r, t ORDER BY r.rank LIMIT toInteger($k)
RETURN r.rank AS rank, t.id AS trackId, t.title AS title,
       COLLECT { MATCH (t)-[:PERFORMED_BY]->(a:Artist) RETURN a.name ORDER BY a.name LIMIT 1 }[0] AS artist,
       r.score AS score, model
ORDER BY rank
