// The current model, the property holding its vectors and how it is served; publish writes the
// other vector slot (mmkg.schema.VECTOR_SLOTS), `publish --new-tracks` adds new tracks' vectors
// (and, served from vectors, their serving vectors) to this one.
// Params:  none
// Returns: model (string id), property (string), serve ('topk' or 'vectors'),
//          servingProperty (string or null), servingNorm (float or null); all null when no
//          model is current; one row
OPTIONAL MATCH (m:Model {current: true})
RETURN m.id AS model, m.vector_property AS property,
       CASE WHEN m IS NULL THEN null ELSE coalesce(m.serve, 'topk') END AS serve,
       m.serving_property AS servingProperty, m.serving_norm AS servingNorm
