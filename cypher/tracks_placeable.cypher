// Whether each listed track has something `mmkg publish RUN --new-tracks` could place it from: a
// feature, a media file to compute one from, or a KG relationship (what
// current_model_tracks_without_vector.cypher counts for `mmkg ingest`). `mmkg recommend` and
// `mmkg similar` read it for given tracks that have no vector of the current model, to say
// whether `--new-tracks` would give them one or nothing places them.
// Params:   $trackIds (list of string), $kg_labels (KG label names), $non_kg (relationship types
//           that are not KG edges), $media (the track properties that name a media file)
// Returns:  id (string), placeable (bool); one row per listed id of an existing track
UNWIND $trackIds AS id
MATCH (t:Track {id: id})
RETURN id,
       EXISTS { (t)-[:HAS_FEATURE]->(:Feature) } OR any(p IN $media WHERE t[p] IS NOT NULL)
         OR EXISTS { (t)-[r]-(b) WHERE NOT type(r) IN $non_kg AND any(l IN labels(b) WHERE l IN $kg_labels) }
         AS placeable
