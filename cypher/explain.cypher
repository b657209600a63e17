// Why a track suits a user: knowledge-graph paths of 1 to 3 hops from the track to tracks the user
// LISTENED to, through KG nodes only (artist, album, genre, tag, entity; never users, features
// or other tracks). Paths with the same intermediate nodes are grouped; groups are ranked by
// shortness, then by how many listened tracks they reach.
// Browser:  :param userId => '2';  :param trackId => '7';  :param limit => 5
// Params:   $userId (string), $trackId (string), $limit (int)
// Returns:  reason (string), hops (int), support (int: listened tracks reached), via (names of
//           the intermediate nodes), listened (up to 3 titles), path (one example path)
MATCH (u:User {id: $userId}), (t:Track {id: $trackId})
WITH u, t, COLLECT { MATCH (u)-[:LISTENED]->(h:Track) WHERE h <> t RETURN h } AS history
MATCH p = (t) (()-[r]-(x) WHERE NOT type(r) IN ['LISTENED', 'RECOMMENDED', 'HAS_FEATURE']
               AND NOT (x:User OR x:Feature OR x:Model)
               AND (NOT x:Track OR x IN history)){1,3} (h:Track)
WHERE all(n IN x[..-1] WHERE NOT n:Track)
WITH x[..-1] AS viaNodes, [rel IN r | type(rel)] AS types, h, p ORDER BY coalesce(h.title, h.id)
WITH viaNodes, types, collect(DISTINCT h) AS reached, collect(p)[0] AS path
WITH viaNodes, types, reached, path, size(types) AS hops,
     [n IN viaNodes | head(labels(n)) + " '" + coalesce(n.name, n.title, n.id) + "'"] AS via,
     [h IN reached[..3] | "'" + coalesce(h.title, h.id) + "'"] AS listened
WITH viaNodes, reached, path, hops, types, via,
     size(reached) + ' track(s) you listened to: '
       + reduce(s = listened[0], l IN listened[1..] | s + ', ' + l)
       + CASE WHEN size(reached) > 3 THEN ', ...' ELSE '' END AS whom
RETURN
  CASE hops
    WHEN 1 THEN 'directly related (' + types[0] + ') to ' + whom
    WHEN 2 THEN 'same ' + via[0] + ' as ' + whom
    ELSE 'linked through ' + via[0] + ' and ' + via[1] + ' to ' + whom
  END AS reason,
  hops, size(reached) AS support, [n IN viaNodes | coalesce(n.name, n.title, n.id)] AS via,
  [h IN reached[..3] | coalesce(h.title, h.id)] AS listened, path
ORDER BY hops, support DESC, reason
LIMIT $limit
