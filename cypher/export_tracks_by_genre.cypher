// Tracks with HAS_GENRE to a genre whose id, or name in any case, is listed, in pages of at most
// $page ids.
// Params: $genres (list of strings), $page (int).  Columns: ids (list of track ids).
MATCH (t:Track)-[:HAS_GENRE]->(g:Genre)
WHERE g.id IN $genres OR toLower(g.name) IN [genre IN $genres | toLower(genre)]
WITH collect(DISTINCT t.id) AS ids
UNWIND range(0, size(ids) - 1, $page) AS start
RETURN ids[start..start + $page] AS ids
