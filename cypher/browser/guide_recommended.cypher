// Guide slide 4, "Why a track was recommended": the user's top 3 recommendations of the current
// model (thick green edges, caption "recommended N") and, for each, the artist, genre, tag or
// album it shares with tracks the user listened to (thin yellow edges, caption "plays N"). Three,
// not $k: the graph stays readable, and $k stays the row count of the guide's tables.
// Browser:  :param userId => 'u1'
// Params:   $userId (string)
// Returns:  rank (int), title, score (float), recommended (the path user -[RECOMMENDED]-> track,
//           drawn also when the track shares nothing with the history: a modality reason),
//           why (paths user -[RECOMMENDED]-> track -> shared node <- listened track
//           <-[LISTENED]- user, at most 5 per track)
MATCH recommended = (u:User {id: $userId})-[r:RECOMMENDED]->(t:Track)
WHERE r.model = COLLECT { MATCH (m:Model {current: true}) RETURN m.id }[0] AND r.rank <= 3
RETURN r.rank AS rank, t.title AS title, round(r.score, 4) AS score, recommended,
       COLLECT { MATCH p = (u)-[r]->(t)-[:PERFORMED_BY|HAS_GENRE|TAGGED|ON_ALBUM]->()
                           <-[:PERFORMED_BY|HAS_GENRE|TAGGED|ON_ALBUM]-(h:Track)<-[:LISTENED]-(u)
                 RETURN p LIMIT 5 } AS why
ORDER BY rank
