// Whether $genre names a genre, as recommend.cypher's $genre matches one (its id, or its name
// in any case), and the genre names to suggest when it does not (`mmkg recommend --genre`).
// Browser:  :param genre => 'rock'
// Params:   $genre (string)
// Returns:  known (bool), names (up to 20 genre names, or ids where a genre has no name, sorted);
//           one row
RETURN EXISTS { MATCH (g:Genre) WHERE g.id = $genre OR toLower(g.name) = toLower($genre) } AS known,
       COLLECT { MATCH (g:Genre) WITH coalesce(g.name, g.id) AS name RETURN name ORDER BY name LIMIT 20 }
         AS names
