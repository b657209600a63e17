// Guide slide 4, "Why a track was recommended": the user's top 3 recommendations of the current
// model (those recommend.cypher returns first: tracks listened to since the publish left out,
// rank being the place in the whole list) and, for each, the artist, genre, tag or album it shares with tracks the user listened to
// (thin yellow edges, caption "plays N"). A top-K model's are its RECOMMENDED relationships
// (thick green edges, caption "recommended N"); a model served from vectors (mmkg publish
// --serve vectors, Model.serve = 'vectors') has none that is read, and its top 3 are ranked here
// as recommend_vectors.cypher ranks them (the track is drawn without an edge from the user).
// Three, not $k: the graph stays readable, and $k stays the row count of the guide's tables.
// Browser:  :param userId => 'u1'
// Params:   $userId (string)
// Returns:  rank (int), title, score (float), recommended (the path user -[RECOMMENDED]-> track,
//           or the track served from vectors: drawn also when the track shares nothing with the
//           history, a modality reason), why (paths track -> shared node <- listened track
//           <-[LISTENED]- user, at most 5 per track)
MATCH (m:Model {current: true})
WITH m LIMIT 1  // one current model even while a flip commits (see recommend.cypher)
MATCH (u:User {id: $userId})
CALL (m, u) {
  MATCH recommended = (u)-[r:RECOMMENDED]->(t:Track)
  WHERE r.model = m.id AND coalesce(m.serve, 'topk') = 'topk'
    AND NOT EXISTS { (u)-[:LISTENED]->(t) }  // as recommend.cypher: a listen since publish
  WITH r, t, recommended ORDER BY r.rank LIMIT 3
  RETURN r.rank AS rank, t, r.score AS score, recommended
  UNION
  WITH m, u, properties(m).serving_index AS servingIndex WHERE servingIndex IS NOT NULL
  WITH m, u, servingIndex, u[m.vector_property] AS vector WHERE vector IS NOT NULL
  WITH m, servingIndex, vector, COLLECT { MATCH (u)-[:LISTENED]->(h:Track) RETURN h } AS heard
  CALL db.index.vector.queryNodes(servingIndex, m.k + size(heard), vector + [0.0]) YIELD node
  WITH vector, node, node[m.vector_property] AS tv WHERE NOT node IN heard
  WITH node, reduce(s = 0.0, i IN range(0, size(vector) - 1) | s + vector[i] * tv[i]) AS dot
  ORDER BY dot DESC LIMIT 3
  WITH collect({track: node, dot: dot}) AS top
  UNWIND range(1, size(top)) AS rank
  RETURN rank, top[rank - 1].track AS t, 1.0 / (1.0 + exp(-top[rank - 1].dot)) AS score,
         top[rank - 1].track AS recommended
}
RETURN rank, t.title AS title, round(score, 4) AS score, recommended,
       COLLECT { MATCH p = (t)-[:PERFORMED_BY|HAS_GENRE|TAGGED|ON_ALBUM]->()
                           <-[:PERFORMED_BY|HAS_GENRE|TAGGED|ON_ALBUM]-(h:Track)<-[:LISTENED]-(u)
                 RETURN p LIMIT 5 } AS why
ORDER BY rank
