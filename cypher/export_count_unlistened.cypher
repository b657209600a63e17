// How many tracks nobody has listened to (those a `listened` selection leaves out).
// Params: none.  Columns: n (integer).
MATCH (t:Track)
WHERE NOT EXISTS { (t)<-[:LISTENED]-(:User) }
RETURN count(t) AS n
