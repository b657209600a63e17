// Tracks matching an operator-written predicate on `t`, in pages of at most $page ids.
// `__PREDICATE__` is replaced by that trusted text (from the operator's own CLI); the query
// always runs in a read transaction.
// Params: $page (int), plus nothing the predicate could rely on.  Columns: ids (list of track ids).
MATCH (t:Track)
WHERE (__PREDICATE__)
WITH collect(t.id) AS ids
UNWIND range(0, size(ids) - 1, $page) AS start
RETURN ids[start..start + $page] AS ids
