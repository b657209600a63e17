// bench/export.py --build: a synthetic graph of $tracks tracks, $users users with $listens listens
// each, artists, genres, KG entities and one 16-d audio feature per track, written by Neo4j itself
// (generator queries, auto-commit: `IN TRANSACTIONS` needs it). One statement per `;`, in order.
// Params:  $tracks, $users, $listens (integers); __ORIGIN__: the KG relation type, backtick-quoted
// Returns: nothing
UNWIND range(0, $tracks - 1) AS i CALL (i) { CREATE (:Track {id: toString(i), year: 1950 + i % 70}) }
IN TRANSACTIONS OF 20000 ROWS;
UNWIND range(0, $tracks / 20 - 1) AS i CREATE (:Artist {id: 'a' + i, name: 'Artist ' + i});
UNWIND range(0, 19) AS i CREATE (:Genre {id: 'g' + i, name: 'Genre ' + i});
UNWIND range(0, $tracks / 10 - 1) AS i CREATE (:Entity {id: 'e' + i});
UNWIND range(0, $tracks - 1) AS i CALL (i) { MATCH (t:Track {id: toString(i)}),
(a:Artist {id: 'a' + (i % ($tracks / 20))}), (g:Genre {id: 'g' + (i % 20)})
CREATE (t)-[:PERFORMED_BY]->(a), (t)-[:HAS_GENRE]->(g) } IN TRANSACTIONS OF 20000 ROWS;
UNWIND range(0, $tracks / 20 - 1) AS i MATCH (a:Artist {id: 'a' + i}),
(e:Entity {id: 'e' + (i * 7 % ($tracks / 10))}) CREATE (a)-[:__ORIGIN__]->(e);
UNWIND range(0, $users - 1) AS u CREATE (:User {id: 'u' + u});
// (u·7919 + k·4729) mod tracks is distinct for k < listens when gcd(4729, tracks) = 1.
UNWIND range(0, $users - 1) AS u CALL (u) { MATCH (user:User {id: 'u' + u})
UNWIND range(0, $listens - 1) AS k MATCH (t:Track {id: toString((u * 7919 + k * 4729) % $tracks)})
CREATE (user)-[:LISTENED {plays: k + 1, ts: 1600000000 + u + k * 3600}]->(t) } IN TRANSACTIONS OF 500 ROWS;
UNWIND range(0, $tracks - 1) AS i CALL (i) { MATCH (t:Track {id: toString(i)})
CREATE (t)-[:HAS_FEATURE]->(:Feature:Audio {id: toString(i) + '/audio_bench', name: 'audio_bench',
dim: 16, vector: [x IN range(0, 15) | toFloat((i + x) % 7)], extractor: 'bench', version: '1',
source: 'synthetic'}) } IN TRANSACTIONS OF 20000 ROWS
