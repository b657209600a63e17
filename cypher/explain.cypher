// Why a track suits a user: knowledge-graph paths of 1 to 3 hops from the track to tracks the user
// LISTENED to, through KG nodes only (artist, album, genre, tag, entity; never users, features
// or other tracks). Paths with the same intermediate nodes are grouped; groups are ranked by
// shortness, then by how many listened tracks they reach.
// Browser:  :param userId => 'u1'; :param explainedTrackId => null; :param limit => 5
// Params:   $userId (string), $explainedTrackId (string, or null = the user's best recommendation of the
//           current model), $limit (int)
// Returns:  trackId, reason (string), hops (int), support (int: listened tracks reached), via
//           (names of the intermediate nodes), listened (up to 3 titles), path (one example path
//           as text: 'title' -TYPE-> 'name' <-TYPE- 'title')
MATCH (u:User {id: $userId})
WITH u, coalesce($explainedTrackId, COLLECT {
       MATCH (u)-[r:RECOMMENDED]->(c:Track)
       WHERE r.model = COLLECT { MATCH (m:Model {current: true}) RETURN m.id }[0]
       RETURN c.id ORDER BY r.rank LIMIT 1 }[0]) AS trackId
MATCH (t:Track {id: trackId})
WITH u, t, COLLECT { MATCH (u)-[:LISTENED]->(h:Track) WHERE h <> t RETURN h } AS history
MATCH p = (t) (()-[r]-(x) WHERE NOT type(r) IN ['LISTENED', 'RECOMMENDED', 'HAS_FEATURE']
               AND NOT (x:User OR x:Feature OR x:Model)
               AND (NOT x:Track OR x IN history)){1,3} (h:Track)
WHERE all(n IN x[..-1] WHERE NOT n:Track)
WITH t, x[..-1] AS viaNodes, [rel IN r | type(rel)] AS types, h, p ORDER BY coalesce(h.title, h.id)
WITH t, viaNodes, types, collect(DISTINCT h) AS reached, collect(p)[0] AS path
WITH t, viaNodes, types, reached, path, size(types) AS hops,
     [n IN viaNodes | head(labels(n)) + " '" + coalesce(n.name, n.title, n.id) + "'"] AS via,
     [h IN reached[..3] | "'" + coalesce(h.title, h.id) + "'"] AS listened,
     [n IN nodes(path) | "'" + coalesce(n.title, n.name, n.id) + "'"] AS names
WITH t, viaNodes, reached, hops, types, via, names,
     [i IN range(0, hops - 1) | CASE WHEN startNode(relationships(path)[i]) = nodes(path)[i]
                                     THEN ' -' + type(relationships(path)[i]) + '-> '
                                     ELSE ' <-' + type(relationships(path)[i]) + '- ' END] AS arrows,
     size(reached) + ' track(s) you listened to: '
       + reduce(s = listened[0], l IN listened[1..] | s + ', ' + l)
       + CASE WHEN size(reached) > 3 THEN ', ...' ELSE '' END AS whom
RETURN
  t.id AS trackId,
  CASE hops
    WHEN 1 THEN 'directly related (' + types[0] + ') to ' + whom
    WHEN 2 THEN 'same ' + via[0] + ' as ' + whom
    ELSE 'linked through ' + via[0] + ' and ' + via[1] + ' to ' + whom
  END AS reason,
  hops, size(reached) AS support, [n IN viaNodes | coalesce(n.name, n.title, n.id)] AS via,
  [h IN reached[..3] | coalesce(h.title, h.id)] AS listened,
  reduce(s = names[0], i IN range(0, hops - 1) | s + arrows[i] + names[i + 1]) AS path
ORDER BY hops, support DESC, reason
LIMIT toInteger($limit)
