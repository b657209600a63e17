// Create the cosine vector index over one vector slot of one label, unless it exists.
// Template: `__NAME__` (an index name of mmkg.schema.VECTOR_SLOTS), `__LABEL__` (its
// mmkg.schema.Label) and `__PROPERTY__` (the slot's property), backtick-quoted by mmkg.graph.render.
// Params:  $dimension (int: the model's vector size), $quantized (bool: Neo4j's int8
//          quantization of the indexed vectors, its default; off for the serving index, whose
//          neighbours must be those of the exact scores)
// Returns: nothing
CREATE VECTOR INDEX __NAME__ IF NOT EXISTS
FOR (n:__LABEL__) ON n.__PROPERTY__
OPTIONS {indexConfig: {`vector.dimensions`: $dimension, `vector.similarity_function`: 'cosine',
                       `vector.quantization.enabled`: $quantized}}
