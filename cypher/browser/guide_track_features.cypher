// Guide slide 2, the same track's feature nodes as a table: modality, extractor and size, the
// first 4 numbers of each vector instead of the whole vector.
// Browser:  :param trackId => 't1'
// Params:   $trackId (string)
// Returns:  modality (Feature's other label), feature (name), extractor, dim (int), head (4 floats)
MATCH (:Track {id: $trackId})-[:HAS_FEATURE]->(f:Feature)
RETURN [l IN labels(f) WHERE l <> 'Feature'][0] AS modality, f.name AS feature,
       f.extractor AS extractor, f.dim AS dim, [x IN f.vector[..4] | round(x, 3)] AS head
ORDER BY modality, feature
