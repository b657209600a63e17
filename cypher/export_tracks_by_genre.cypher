// Tracks with HAS_GENRE to a genre whose name or id is listed.
// Params: $genres (list of strings).  Columns: id (string).
MATCH (t:Track)-[:HAS_GENRE]->(g:Genre)
WHERE g.name IN $genres OR g.id IN $genres
RETURN DISTINCT t.id AS id
