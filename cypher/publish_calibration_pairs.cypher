// The similarity explain.cypher uses, for given pairs of Feature nodes: the cosine of their
// calibrated vectors as Neo4j reports it (vector.similarity.cosine: (1 + cos) / 2, in [0, 1]),
// so the thresholds calibrate exactly the number explain compares with them.
// Params:  $pairs: list of [string, string] (two Feature ids)
// Returns: similarity (float, or null when a vector is missing or has norm 0), one row per pair
UNWIND $pairs AS pair
MATCH (a:Feature {id: pair[0]}), (b:Feature {id: pair[1]})
RETURN vector.similarity.cosine(a.calibrated, b.calibrated) AS similarity
