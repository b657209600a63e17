// Tracks with HAS_GENRE to a genre whose name or id is listed, in pages of at most $page ids.
// Params: $genres (list of strings), $page (int).  Columns: ids (list of track ids).
MATCH (t:Track)-[:HAS_GENRE]->(g:Genre)
WHERE g.name IN $genres OR g.id IN $genres
WITH collect(DISTINCT t.id) AS ids
UNWIND range(0, size(ids) - 1, $page) AS start
RETURN ids[start..start + $page] AS ids
