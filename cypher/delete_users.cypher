// Forget users (`mmkg delete-users`): delete each listed User with every relationship it has
// (listens, every model's recommendations) and, with the node, its vectors. recommend then knows
// the user no more, and a later publish skips them as absent from the graph. An id that names
// no user changes nothing and is returned in `unknown` (a re-run finds every id unknown:
// idempotent).
// Browser:  :param userIds => ['u1']
// Params:   $userIds (list of distinct User ids)
// Returns:  deleted (int: users), listens (int), recommendations (int: RECOMMENDED of any
//           model), unknown (list of the ids that name no user); one row
UNWIND $userIds AS id
OPTIONAL MATCH (u:User {id: id})
WITH id, u,
     CASE WHEN u IS NULL THEN 0 ELSE COUNT { (u)-[:LISTENED]->(:Track) } END AS listens,
     CASE WHEN u IS NULL THEN 0 ELSE COUNT { (u)-[:RECOMMENDED]->(:Track) } END AS recommendations
FOREACH (user IN CASE WHEN u IS NULL THEN [] ELSE [u] END | DETACH DELETE user)
RETURN count(u) AS deleted, sum(listens) AS listens, sum(recommendations) AS recommendations,
       [unknownId IN collect(CASE WHEN u IS NULL THEN id END) WHERE unknownId IS NOT NULL] AS unknown
