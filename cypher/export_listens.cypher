// LISTENED relationships of the listed users.
// Params: $ids (user ids).
// Columns: listens (list of [user id, track id, plays or null, ts or null]; one record).
UNWIND $ids AS user_id
MATCH (:User {id: user_id})-[r:LISTENED]->(t:Track)
RETURN collect([user_id, t.id, r.plays, r.ts]) AS listens
