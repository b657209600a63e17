// Write the exact top-K of a batch of users for model $model. Readers ignore these relationships
// until the Model node becomes current (they filter on RECOMMENDED.model = current Model.id).
// Params:  $model (string id),
//          $rows = [{user: string, items: [{track: string, score: float, rank: int (1 = best)}]}]
// Returns: n (relationships created)
UNWIND $rows AS row
MATCH (u:User {id: row.user})
UNWIND row.items AS item
MATCH (t:Track {id: item.track})
CREATE (u)-[:RECOMMENDED {score: item.score, rank: item.rank, model: $model}]->(t)
RETURN count(*) AS n
