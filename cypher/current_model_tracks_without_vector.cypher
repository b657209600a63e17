// The current model and how many tracks have no vector of it (they arrived after its run was
// trained, or nobody had played them then): `mmkg ingest` names them and the command that places
// them (`mmkg publish RUN --new-tracks`), RUN being the folder the model was published from.
// Params:  none
// Returns: model (string id), runFolder (string, or null for a model published before mmkg
//          recorded it), modelType (string or null), missing (integer); no row when no model is
//          current
MATCH (m:Model {current: true})
CALL (m) {
  MATCH (t:Track)
  WHERE t[m.vector_property] IS NULL
  RETURN count(t) AS missing
}
RETURN m.id AS model, m.run_folder AS runFolder, m.model_type AS modelType, missing
