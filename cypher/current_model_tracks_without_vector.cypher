// The current model and how many tracks have no vector of it (they arrived after its run was
// trained, or nobody had played them then): `mmkg ingest` names them and the command that places
// them (`mmkg publish RUN --new-tracks`), RUN being the folder the model was published from, and
// how many of them have nothing to be placed by: no feature, no media file to compute one from,
// and no KG relationship.
// Params:  $kg_labels (KG label names), $non_kg (relationship types that are not KG edges),
//          $media (the track properties that name a media file)
// Returns: model (string id), runFolder (string, or null for a model published before mmkg
//          recorded it), modelType (string or null), missing (integer), bare (integer: of the
//          missing, those with none of the three); no row when no model is current
MATCH (m:Model {current: true})
CALL (m) {
  MATCH (t:Track)
  WHERE t[m.vector_property] IS NULL
  WITH t, EXISTS { (t)-[:HAS_FEATURE]->(:Feature) } OR any(p IN $media WHERE t[p] IS NOT NULL)
          OR EXISTS { (t)-[r]-(b) WHERE NOT type(r) IN $non_kg AND any(l IN labels(b) WHERE l IN $kg_labels) }
          AS placeable
  RETURN count(t) AS missing, count(CASE WHEN NOT placeable THEN t END) AS bare
}
RETURN m.id AS model, m.run_folder AS runFolder, m.model_type AS modelType, missing, bare
