// LISTENED relationships of the listed users, one row per user.
// Params: $ids (user ids).
// Columns: user (string), listens (list of [track id, plays or null, ts or null]).
UNWIND $ids AS user_id
MATCH (:User {id: user_id})-[r:LISTENED]->(t:Track)
RETURN user_id AS user, collect([t.id, r.plays, r.ts]) AS listens
