// Drop the projected graph $graph_name from the GDS graph catalog (no error when absent).
// Params: $graph_name (string).  Columns: graph (the name, or no row when it was absent).
CALL gds.graph.drop($graph_name, false) YIELD graphName
RETURN graphName AS graph
