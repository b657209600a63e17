// Mark the Model being published as the latest calibration, before any Feature.calibrated is
// written (calibration_seq: one more than any Model's, its own included), and return the
// calibration it may reuse: the latest one, that of the Model with the highest calibration_seq
// until now. That is the Model itself when it was calibrated last (a re-publish of the same
// version reuses its own calibration), and may be a failed publish's Model: one that failed
// half-way recorded no calibration, so nothing is reused and vectors it half-wrote are never
// taken for another calibration's. The Model's own calibration record, if any, is then removed
// (publish_calibration.cypher writes it again at the end).
// Params:  $model (string id; the Model must exist)
// Returns: names, digests (lists of string), thresholds (list of float), percentiles (list of
//          float: 99 per name), pairs (list of int): the latest calibration, each null when
//          there is none or it recorded no digests
MATCH (m:Model {id: $model})
OPTIONAL MATCH (latest:Model)
WHERE latest.calibration_seq IS NOT NULL
WITH m, latest ORDER BY latest.calibration_seq DESC
WITH m, head(collect(latest)) AS latest
WITH m, latest.calibration_seq AS seq, latest.calibration_features AS names,
     latest.calibration_digests AS digests, latest.calibration_thresholds AS thresholds,
     latest.calibration_percentiles AS percentiles, latest.calibration_pairs AS pairs
SET m.calibration_seq = coalesce(seq, 0) + 1
REMOVE m.calibration_features, m.calibration_thresholds, m.calibration_percentiles,
       m.calibration_quantile, m.calibration_pairs, m.calibration_digests
RETURN names, digests, thresholds, percentiles, pairs
