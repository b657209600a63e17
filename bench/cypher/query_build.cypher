// bench/query.py: the synthetic catalogue, one statement per `;`, in this order: genres, artists,
// tracks (with their genre and artist), listens (each user with its listened tracks).
// Params:  $rows (list of maps: {id, name} | {id, name} | {id, title, genre, artist} | {user, tracks})
// Returns: nothing
UNWIND $rows AS row CREATE (:Genre {id: row.id, name: row.name});
UNWIND $rows AS row CREATE (:Artist {id: row.id, name: row.name});
UNWIND $rows AS row
MATCH (g:Genre {id: row.genre}), (a:Artist {id: row.artist})
CREATE (t:Track {id: row.id, title: row.title})-[:HAS_GENRE]->(g), (t)-[:PERFORMED_BY]->(a);
UNWIND $rows AS row
CREATE (u:User {id: row.user})
WITH u, row UNWIND row.tracks AS tid
MATCH (t:Track {id: tid}) CREATE (u)-[:LISTENED {plays: 1}]->(t)
