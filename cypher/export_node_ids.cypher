// Ids of every node of one label, in pages of at most $page ids per record (Bolt's cost is per
// record; the server holds the label's id list, which the client's id map needs anyway).
// `__LABEL__` is replaced by a label of mmkg.schema.Label, validated and backtick-quoted.
// Params: $page (int).  Columns: ids (list of strings).
MATCH (n:__LABEL__)
WITH collect(n.id) AS ids
UNWIND range(0, size(ids) - 1, $page) AS start
RETURN ids[start..start + $page] AS ids
