// Tracks matching an operator-written predicate on `t`. `__PREDICATE__` is replaced by that
// trusted text (from the operator's own CLI); the query always runs in a read transaction.
// Params: whatever the predicate uses (none from mmkg).  Columns: id (string).
MATCH (t:Track)
WHERE (__PREDICATE__)
RETURN t.id AS id
