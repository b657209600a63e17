// Why a track suits a user, in two families of reasons, kind 'kg' and the modality kinds, each
// relative to the user's tracks: those the user LISTENED to or, for someone known only by liked
// tracks (`mmkg recommend --like`), the liked ones; or why it is near one track (`mmkg similar
// --explain`), relative to that track alone.
// - 'kg': knowledge-graph paths of 1 to 3 hops from the track to the user's tracks,
//   through KG nodes only (artist, album, genre, tag, entity; never users, features or other
//   tracks). Paths with the same intermediate nodes are grouped; groups are ranked by
//   shortness, then by how many listened tracks they reach.
// - 'audio' ("sounds like"), 'sentiment' ("lyrics in the same mood as"), 'text' ("lyrics about
//   the same things as"), 'image' ("cover looks like"): per modality, the listened track whose
//   calibrated feature (Feature.calibrated: standardised over the catalog at publish,
//   publish/calibrate.py) is most similar to the track's, when that similarity reaches the current
//   Model's calibration threshold (its calibration_quantile, 0.95, of the similarities of track
//   pairs); ranked by the share of track pairs it beats (closerThan), then by similarity.
// The two families have no common scale, so they alternate: best KG reason, best modality
// reason, second KG reason, second modality reason, ... (a family that runs out leaves the rest
// to the other).
// Browser:  :param userId => 'u1'; :param likedTrackIds => null; :param similarTo => null;
//           :param explainedTrackId => null; :param limit => 5
// Params:   $userId (string; ignored with $likedTrackIds or $similarTo), $likedTrackIds (list of
//           Track ids, or null = the tracks $userId LISTENED to), $similarTo (a Track id: the
//           reasons name that track alone, "same Genre 'rock' as 'Title'"; or null),
//           $explainedTrackId (string, or null = the user's
//           best recommendation of the current model: served from top-K, its first RECOMMENDED
//           they have not listened to (recommend.cypher's first row);
//           from vectors, the first track recommend_vectors.cypher ranks; required with
//           $likedTrackIds or $similarTo), $limit (int)
// Returns:  trackId, kind ('kg', 'audio', 'sentiment', 'text' or 'image'), reason (string),
//           hops (int; null for a modality reason), support (int: the user's tracks reached; 1 for
//           a modality reason), via (names of the intermediate nodes; the feature name for a
//           modality reason), listened (up to 3 of their titles), path (one example path as text:
//           'title' -TYPE-> 'name' <-TYPE- 'title'), closerThan (int: % of track pairs less
//           similar, for a modality reason; null for 'kg')
OPTIONAL MATCH (u:User {id: $userId})
WITH u WHERE u IS NOT NULL OR $likedTrackIds IS NOT NULL OR $similarTo IS NOT NULL
WITH u, CASE WHEN $explainedTrackId IS NOT NULL THEN $explainedTrackId ELSE coalesce(
       COLLECT {
         MATCH (u)-[r:RECOMMENDED]->(c:Track)
         WHERE r.model = COLLECT { MATCH (m:Model {current: true})
                                   WHERE coalesce(m.serve, 'topk') = 'topk' RETURN m.id }[0]
           AND NOT EXISTS { (u)-[:LISTENED]->(c) }  // as recommend.cypher: a listen since publish
         RETURN c.id ORDER BY r.rank LIMIT 1 }[0],
       // served from vectors (recommend_vectors.cypher): the best unheard track by dot product
       COLLECT {
         MATCH (m:Model {current: true})
         WITH m LIMIT 1
         WITH m, properties(m).serving_index AS servingIndex WHERE servingIndex IS NOT NULL
         WITH m, servingIndex, u[m.vector_property] AS vector WHERE vector IS NOT NULL
         WITH m, servingIndex, vector, COLLECT { MATCH (u)-[:LISTENED]->(h:Track) RETURN h } AS heard
         CALL db.index.vector.queryNodes(servingIndex, m.k + size(heard), vector + [0.0]) YIELD node
         WITH vector, node, node[m.vector_property] AS tv WHERE NOT node IN heard
         RETURN node.id
         ORDER BY reduce(s = 0.0, i IN range(0, size(vector) - 1) | s + vector[i] * tv[i]) DESC
         LIMIT 1 }[0]) END AS trackId
MATCH (t:Track {id: trackId})
WITH t, CASE WHEN $similarTo IS NOT NULL
             THEN COLLECT { MATCH (h:Track {id: $similarTo}) WHERE h <> t RETURN h }
             WHEN $likedTrackIds IS NULL
             THEN COLLECT { MATCH (u)-[:LISTENED]->(h:Track) WHERE h <> t RETURN h }
             ELSE COLLECT { MATCH (h:Track) WHERE h.id IN $likedTrackIds AND h <> t RETURN h } END AS history,
     CASE WHEN $similarTo IS NOT NULL THEN null
          WHEN $likedTrackIds IS NULL THEN 'you listened to' ELSE 'you like' END AS yours
CALL (t, history, yours) {
  MATCH p = (t) (()-[r]-(x) WHERE NOT type(r) IN ['LISTENED', 'RECOMMENDED', 'HAS_FEATURE']
                 AND NOT (x:User OR x:Feature OR x:Model)
                 AND (NOT x:Track OR x IN history)){1,3} (h:Track)
  WHERE all(n IN x[..-1] WHERE NOT n:Track)
  WITH x[..-1] AS viaNodes, [rel IN r | type(rel)] AS types, h, p ORDER BY coalesce(h.title, h.id)
  WITH viaNodes, types, collect(DISTINCT h) AS reached, collect(p)[0] AS path
  WITH viaNodes, types, reached, path, size(types) AS hops,
       [n IN viaNodes | head(labels(n)) + " '" + coalesce(n.name, n.title, n.id) + "'"] AS via,
       [h IN reached[..3] | "'" + coalesce(h.title, h.id) + "'"] AS listened,
       [n IN nodes(path) | "'" + coalesce(n.title, n.name, n.id) + "'"] AS names
  WITH viaNodes, reached, hops, types, via, names,
       [i IN range(0, hops - 1) | CASE WHEN startNode(relationships(path)[i]) = nodes(path)[i]
                                       THEN ' -' + type(relationships(path)[i]) + '-> '
                                       ELSE ' <-' + type(relationships(path)[i]) + '- ' END] AS arrows,
       CASE WHEN yours IS NULL THEN listened[0]  // the one track of $similarTo
            ELSE size(reached) + ' track(s) ' + yours + ': '
                 + reduce(s = listened[0], l IN listened[1..] | s + ', ' + l)
                 + CASE WHEN size(reached) > 3 THEN ', ...' ELSE '' END END AS whom
  WITH
    CASE hops
      WHEN 1 THEN 'directly related (' + types[0] + ') to ' + whom
      WHEN 2 THEN 'same ' + via[0] + ' as ' + whom
      ELSE 'linked through ' + via[0] + ' and ' + via[1] + ' to ' + whom
    END AS reason,
    hops, size(reached) AS support, [n IN viaNodes | coalesce(n.name, n.title, n.id)] AS via,
    [h IN reached[..3] | coalesce(h.title, h.id)] AS listened,
    reduce(s = names[0], i IN range(0, hops - 1) | s + arrows[i] + names[i + 1]) AS path
  ORDER BY hops, support DESC, reason
  WITH collect({reason: reason, hops: hops, support: support, via: via, listened: listened,
                path: path}) AS found
  UNWIND range(0, size(found) - 1) AS ordinal
  RETURN 'kg' AS kind, found[ordinal].reason AS reason, found[ordinal].hops AS hops,
         found[ordinal].support AS support, found[ordinal].via AS via,
         found[ordinal].listened AS listened, found[ordinal].path AS path,
         null AS closerThan, ordinal
UNION ALL
  MATCH (m:Model {current: true})
  MATCH (t)-[:HAS_FEATURE]->(f:Feature)
  WHERE f.calibrated IS NOT NULL
  WITH m, f, coalesce(m.calibration_features, []) AS names
  WITH m, f, names, [i IN range(0, size(names) - 1) WHERE names[i] = f.name][0] AS c
  WHERE c IS NOT NULL
  WITH f, m.calibration_thresholds[c] AS threshold,
       size(m.calibration_percentiles) / size(names) AS stride, m, c
  WITH f, threshold, m.calibration_percentiles[c * stride .. (c + 1) * stride] AS percentiles,
       // labels(f), not f:Sentiment: a catalog without one of the modalities has no such
       // label, and testing for it raises a notification (a Warn tab in the Browser)
       CASE WHEN 'Audio' IN labels(f) THEN 'audio' WHEN 'Sentiment' IN labels(f) THEN 'sentiment'
            WHEN 'Text' IN labels(f) THEN 'text' WHEN 'Image' IN labels(f) THEN 'image' END AS kind
  WHERE kind IS NOT NULL
  UNWIND history AS h
  MATCH (h)-[:HAS_FEATURE]->(g:Feature {name: f.name})
  WITH kind, f, h, percentiles, threshold,
       vector.similarity.cosine(f.calibrated, g.calibrated) AS similarity
  WHERE similarity >= threshold
  WITH kind, f, h, similarity, size([q IN percentiles WHERE q <= similarity]) AS closerThan
  ORDER BY closerThan DESC, similarity DESC, coalesce(h.title, h.id)
  WITH kind, collect({name: f.name, title: coalesce(h.title, h.id), similarity: similarity,
                      closerThan: closerThan, kind: kind})[0] AS row
  ORDER BY row.closerThan DESC, row.similarity DESC, kind
  WITH collect(row) AS found
  UNWIND range(0, size(found) - 1) AS ordinal
  WITH ordinal, found[ordinal] AS row, found[ordinal].kind AS kind
  RETURN kind,
         CASE kind WHEN 'audio' THEN 'sounds like' WHEN 'sentiment' THEN 'lyrics in the same mood as'
                   WHEN 'text' THEN 'lyrics about the same things as' ELSE 'cover looks like' END
           + " '" + row.title + "' (closer than " + row.closerThan + ' % of track pairs)' AS reason,
         null AS hops, 1 AS support, [row.name] AS via, [row.title] AS listened,
         "'" + coalesce(t.title, t.id) + "' -HAS_FEATURE-> " + row.name + ' ~ ' + row.name
           + " <-HAS_FEATURE- '" + row.title + "'" AS path,
         row.closerThan AS closerThan, ordinal
}
RETURN t.id AS trackId, kind, reason, hops, support, via, listened, path, closerThan
ORDER BY ordinal, CASE kind WHEN 'kg' THEN 0 ELSE 1 END
LIMIT toInteger($limit)
