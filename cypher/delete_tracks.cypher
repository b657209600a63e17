// Take tracks down (`mmkg delete-tracks`): delete each listed Track with its Feature nodes and
// every relationship it has (listens, every model's recommendations, KG facts). Its vectors go
// with it, so recommend, similar and the cold start stop returning it at once, and a later
// publish skips it as absent from the graph. An id that names no track changes nothing and is
// returned in `unknown` (a re-run finds every id unknown: idempotent).
// Browser:  :param trackIds => ['t1']
// Params:   $trackIds (list of distinct Track ids)
// Returns:  deleted (int: tracks), features (int: Feature nodes), listens (int), recommendations
//           (int: RECOMMENDED of any model), unknown (list of the ids that name no track); one row
UNWIND $trackIds AS id
OPTIONAL MATCH (t:Track {id: id})
WITH id, t,
     CASE WHEN t IS NULL THEN [] ELSE COLLECT { MATCH (t)-[:HAS_FEATURE]->(f:Feature) RETURN f } END AS features,
     CASE WHEN t IS NULL THEN 0 ELSE COUNT { (t)<-[:LISTENED]-(:User) } END AS listens,
     CASE WHEN t IS NULL THEN 0 ELSE COUNT { (t)<-[:RECOMMENDED]-(:User) } END AS recommendations
FOREACH (f IN features | DETACH DELETE f)
FOREACH (track IN CASE WHEN t IS NULL THEN [] ELSE [t] END | DETACH DELETE track)
RETURN count(t) AS deleted, sum(size(features)) AS features, sum(listens) AS listens,
       sum(recommendations) AS recommendations,
       [unknownId IN collect(CASE WHEN t IS NULL THEN id END) WHERE unknownId IS NOT NULL] AS unknown
