// Ids of every node of one label. `__LABEL__` is replaced by a label of mmkg.schema.Label,
// validated and backtick-quoted (labels cannot be parameters).
// Params: none.  Columns: id (string).
MATCH (n:__LABEL__)
RETURN n.id AS id
