// Drop one constraint (and its backing index) if it exists.
// Template: `__NAME__` is the constraint's name, backtick-quoted by mmkg.graph.render.
// Params:  none
// Returns: nothing
DROP CONSTRAINT __NAME__ IF EXISTS
