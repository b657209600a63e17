// Record the modality calibration on the Model being published (before its flip, so it becomes
// current together with the model's recommendations). Idempotent.
// Params:  $model (string id), $names (list of string: feature names), $thresholds (list of
//          float, one per name), $percentiles (list of float: 99 per name, blocks in $names
//          order), $quantile (float), $pairs (list of int, one per name), $digests (list of
//          string, one per name: publish/calibrate.py's digest of the calibration's input)
// Returns: model (string id)
MATCH (m:Model {id: $model})
SET m.calibration_features = $names, m.calibration_thresholds = $thresholds,
    m.calibration_percentiles = $percentiles, m.calibration_quantile = $quantile,
    m.calibration_pairs = $pairs, m.calibration_digests = $digests
RETURN m.id AS model
