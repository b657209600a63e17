// Guide slide 4, "Why a track was recommended": the user's top $k recommendations of the current
// model (edge caption #rank) and, for each, the artist, genre, tag or album it shares with tracks
// the user listened to (edge caption "N plays").
// Browser:  :params {userId: 'u1', k: 3}
// Params:   $userId (string), $k (int)
// Returns:  rank (int), title, score (float), why (paths user -[RECOMMENDED]-> track -> shared
//           node <- listened track <-[LISTENED]- user, at most 5 per track)
MATCH (u:User {id: $userId})-[r:RECOMMENDED]->(t:Track)
WHERE r.model = COLLECT { MATCH (m:Model {current: true}) RETURN m.id }[0] AND r.rank <= $k
RETURN r.rank AS rank, t.title AS title, round(r.score, 4) AS score,
       COLLECT { MATCH p = (u)-[r]->(t)-[:PERFORMED_BY|HAS_GENRE|TAGGED|ON_ALBUM]->()
                           <-[:PERFORMED_BY|HAS_GENRE|TAGGED|ON_ALBUM]-(h:Track)<-[:LISTENED]-(u)
                 RETURN p LIMIT 5 } AS why
ORDER BY rank
