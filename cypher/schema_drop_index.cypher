// Drop one index if it exists (also used by publish when a vector index changes dimension).
// Template: `__NAME__` is the index's name, backtick-quoted by mmkg.graph.render.
// Params:  none
// Returns: nothing
DROP INDEX __NAME__ IF EXISTS
