// Guide slide 1, "What is in the graph": the labels and relationship types as a graph (one node
// per label, one relationship per type between the labels it joins).
// Browser:  (no parameters)
// Params:   none
// Returns:  nodes, relationships (virtual: the schema, not data)
CALL db.schema.visualization()
