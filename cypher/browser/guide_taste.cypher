// Guide slide 3, "A user's taste": the user's $limit most played tracks and their artists and
// genres. An artist or genre that several of those tracks share gets several edges.
// Browser:  :params {userId: 'u1', limit: 15}
// Params:   $userId (string), $limit (int)
// Returns:  title, plays (int), taste (paths user -> track -> artist / genre)
MATCH (u:User {id: $userId})-[l:LISTENED]->(t:Track)
WITH u, l, t ORDER BY l.plays DESC, t.id LIMIT toInteger($limit)
RETURN t.title AS title, l.plays AS plays,
       COLLECT { MATCH p = (u)-[l]->(t)-[:PERFORMED_BY|HAS_GENRE]->() RETURN p } AS taste
ORDER BY plays DESC, title
