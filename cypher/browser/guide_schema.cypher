// Guide slide 1, "What is in the graph": the labels and relationship types as a graph (one node
// per label, one relationship per type between the labels it joins), without the internal
// PublishLock (a publish's lock) and the modality labels (Text, Image, Audio, Sentiment), which
// every Feature node carries beside Feature and which would each repeat Track -HAS_FEATURE->.
// (A label predicate such as n:PublishLock is false on these virtual nodes: labels(n) is read.)
// Browser:  (no parameters)
// Params:   none
// Returns:  nodes, relationships (virtual: the schema, not data; captions from the style's
//           fallback on the label's name)
CALL db.schema.visualization() YIELD nodes, relationships
WITH [n IN nodes WHERE none(l IN labels(n) WHERE l IN ['PublishLock', 'Text', 'Image', 'Audio', 'Sentiment'])]
       AS shown, relationships
WITH shown, [n IN shown | elementId(n)] AS kept, relationships
RETURN shown AS nodes,
       [r IN relationships WHERE elementId(startNode(r)) IN kept AND elementId(endNode(r)) IN kept] AS relationships
