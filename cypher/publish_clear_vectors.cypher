// Remove one vector property from every Track and User, $batchSize nodes per transaction: a
// property of mmkg.schema.LEGACY_VECTOR_PROPERTIES (what mmkg wrote before vector slots). Run in an implicit (auto-commit) transaction.
// Template: `__PROPERTY__` (the property name, backtick-quoted by mmkg.graph.render)
// Params:  $batchSize (int)
// Returns: nothing
MATCH (n:Track|User) WHERE n.__PROPERTY__ IS NOT NULL
CALL (n) {
  REMOVE n.__PROPERTY__
} IN TRANSACTIONS OF $batchSize ROWS
