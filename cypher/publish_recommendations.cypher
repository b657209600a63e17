// Write the exact top-K of a batch of users for model $model. Readers ignore these relationships
// until the Model node becomes current (they filter on RECOMMENDED.model = current Model.id).
// The batch travels as parallel lists (no map per relationship): user i recommends $tracks[i][j]
// with score $scores[i][j] and rank j + 1 (1 = best; the lists are in rank order). A user or a
// track that is not in the graph is skipped (publish counts what was sent minus `n`).
// Params:  $model (string id), $users = [string],
//          $tracks = [[string]] (per user, best first), $scores = [[float]] (same shape as $tracks)
// Returns: n (relationships created)
UNWIND range(0, size($users) - 1) AS i
MATCH (u:User {id: $users[i]})
UNWIND range(0, size($tracks[i]) - 1) AS j
MATCH (t:Track {id: $tracks[i][j]})
CREATE (u)-[:RECOMMENDED {score: $scores[i][j], rank: j + 1, model: $model}]->(t)
RETURN count(*) AS n
