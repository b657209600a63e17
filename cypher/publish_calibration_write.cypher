// Store calibrated vectors (the vector standardised over its feature name's catalog, then
// L2-normalised: mmkg.schema.Prop.CALIBRATED) on Feature nodes. Idempotent.
// Params:  $rows: list of {id: string (Feature.id), vector: list of float}
// Returns: nothing (counters only)
UNWIND $rows AS row
MATCH (f:Feature {id: row.id})
SET f.calibrated = row.vector
