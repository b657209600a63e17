// Replace the top-K of a batch of users for model $model: each user's RECOMMENDED of $model are
// deleted and the new list written in the same transaction, so a reader sees the old list or the
// new one. `mmkg publish RUN --new-tracks` writes the lists new tracks enter; a publish restores a
// version's own lists over those (Model.placed). User i recommends $tracks[i][j] with score
// $scores[i][j] and rank j + 1 (the lists are in rank order); a track that is not in the graph is
// skipped, as publish_recommendations.cypher does.
// Params:  $model (string id), $users = [string],
//          $tracks = [[string]] (per user, best first), $scores = [[float]] (same shape as $tracks)
// Returns: n (relationships created)
UNWIND range(0, size($users) - 1) AS i
MATCH (u:User {id: $users[i]})
CALL (u) {
  MATCH (u)-[old:RECOMMENDED]->(:Track)
  WHERE old.model = $model
  DELETE old
}
WITH u, i
UNWIND range(0, size($tracks[i]) - 1) AS j
MATCH (t:Track {id: $tracks[i][j]})
CREATE (u)-[:RECOMMENDED {score: $scores[i][j], rank: j + 1, model: $model}]->(t)
RETURN count(*) AS n
