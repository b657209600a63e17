// Mark the Model being published as the latest calibration, before any Feature.calibrated is
// written (calibration_seq: one more than any Model's), and return the calibration it may reuse:
// that of the Model calibrated last before it (a failed publish's Model included, so that
// vectors it half-wrote are never taken for another calibration's). Its own earlier
// calibration record, if any, is removed (a re-run of a publish).
// Params:  $model (string id; the Model must exist)
// Returns: names, digests (lists of string), thresholds (list of float), percentiles (list of
//          float: 99 per name), pairs (list of int): the previous calibration, each null when
//          there is none or it recorded no digests
MATCH (m:Model {id: $model})
OPTIONAL MATCH (prev:Model)
WHERE prev <> m AND prev.calibration_seq IS NOT NULL
WITH m, prev ORDER BY prev.calibration_seq DESC
WITH m, head(collect(prev)) AS prev
SET m.calibration_seq = coalesce(prev.calibration_seq, 0) + 1
REMOVE m.calibration_features, m.calibration_thresholds, m.calibration_percentiles,
       m.calibration_quantile, m.calibration_pairs, m.calibration_digests
RETURN prev.calibration_features AS names, prev.calibration_digests AS digests,
       prev.calibration_thresholds AS thresholds, prev.calibration_percentiles AS percentiles,
       prev.calibration_pairs AS pairs
