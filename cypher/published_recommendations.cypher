// Every recommendation of the current model, for measuring what explain.cypher covers
// (bench/explain.py).
// Browser:  (no parameters)
// Params:   none
// Returns:  userId, trackId, rank (int, 1 = best), by user then rank
MATCH (m:Model {current: true})
MATCH (u:User)-[r:RECOMMENDED]->(t:Track)
WHERE r.model = m.id
RETURN u.id AS userId, t.id AS trackId, r.rank AS rank
ORDER BY userId, rank
