// Every recommendation of the current model, for measuring what explain.cypher covers
// (bench/explain.py): its RECOMMENDED, none when it is served from vectors.
// Browser:  (no parameters)
// Params:   none
// Returns:  userId, trackId, rank (int, 1 = best), by user then rank
MATCH (m:Model {current: true})
WHERE coalesce(m.serve, 'topk') = 'topk'
MATCH (u:User)-[r:RECOMMENDED]->(t:Track)
WHERE r.model = m.id
RETURN u.id AS userId, t.id AS trackId, r.rank AS rank
ORDER BY userId, rank
