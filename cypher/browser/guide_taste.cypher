// Guide slide 3, "A user's taste": the user's 15 most played tracks and their artists and
// genres. An artist or genre that several of those tracks share gets several edges. (15, not a
// parameter: the guide's $limit is explain's.)
// Browser:  :param userId => 'u1'
// Params:   $userId (string)
// Returns:  title, plays (int), taste (paths user -> track -> artist / genre)
MATCH (u:User {id: $userId})-[l:LISTENED]->(t:Track)
WITH u, l, t ORDER BY l.plays DESC, t.id LIMIT 15
RETURN t.title AS title, l.plays AS plays,
       COLLECT { MATCH p = (u)-[l]->(t)-[:PERFORMED_BY|HAS_GENRE]->() RETURN p } AS taste
ORDER BY plays DESC, title
