// Create the cosine vector index on the `embedding` of one label, unless it exists.
// Template: `__NAME__` (index name of mmkg.schema.VECTOR_INDEXES) and `__LABEL__` (its
// mmkg.schema.Label), backtick-quoted by mmkg.graph.render.
// Params:  $dimension (int: the model's vector size)
// Returns: nothing
CREATE VECTOR INDEX __NAME__ IF NOT EXISTS
FOR (n:__LABEL__) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: $dimension, `vector.similarity_function`: 'cosine'}}
