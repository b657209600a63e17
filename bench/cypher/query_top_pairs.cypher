// bench/query.py: (user, top-1 track) pairs of the current model, for the explain latency.
// Params:  none
// Returns: u (user id), t (track id), at most 2000 rows
MATCH (m:Model {current: true}) MATCH (u:User)-[r:RECOMMENDED]->(t)
WHERE r.model = m.id AND r.rank = 1 RETURN u.id AS u, t.id AS t LIMIT 2000
