// What decides which answer a user gets from `mmkg recommend`: the current model, whether the user
// exists, what they listened to, and whether the current model ranked them.
// Browser:  :param userId => '2'
// Params:   $userId (string)
// Returns:  model (current Model.id or null), exists (bool), history (list of track ids),
//           known (bool: the current model has RECOMMENDED relationships for the user); one row
OPTIONAL MATCH (m:Model {current: true})
OPTIONAL MATCH (u:User {id: $userId})
RETURN m.id AS model, u IS NOT NULL AS exists,
       COLLECT { MATCH (u)-[:LISTENED]->(t:Track) RETURN t.id } AS history,
       EXISTS { MATCH (u)-[r:RECOMMENDED]->() WHERE r.model = m.id } AS known
