// Guide slide 3, the same taste as counts: the artists, genres and tags that most of the user's
// listened tracks share (kind = the node's label).
// Browser:  :param userId => 'u1'
// Params:   $userId (string)
// Returns:  kind (label), name, tracks (int: listened tracks linked to it), plays (int: their plays)
MATCH (:User {id: $userId})-[l:LISTENED]->(:Track)-[:PERFORMED_BY|HAS_GENRE|TAGGED]->(n)
RETURN head(labels(n)) AS kind, coalesce(n.name, n.title, n.id) AS name,
       count(*) AS tracks, sum(l.plays) AS plays
ORDER BY tracks DESC, plays DESC, name
LIMIT 15
