// Project an export's training graph into the GDS graph catalog as $graph_name (undirected).
// Nodes are the caller's own numbers 0..$n_nodes-1 (not database nodes), so FastRP's seeded
// random vectors depend on the export alone, never on the database's internal node ids.
// Relationships: the export's training interactions and its KG edges, both passed in: nothing of
// the database (validation/test listens in particular) reaches the projection. They are
// projected untyped: FastRP does not tell types apart, and GDS builds one (large) buffer per type.
// Params: $graph_name (string), $n_nodes (int), $edges (list of [source, target] node numbers).
// Columns: projection (GDS's summary map: nodeCount, relationshipCount — each undirected edge
//          counts twice —, projectMillis, ...).
CALL () {
  UNWIND range(0, $n_nodes - 1) AS node
  RETURN node AS source, null AS target
  UNION ALL
  UNWIND $edges AS edge
  RETURN edge[0] AS source, edge[1] AS target
}
RETURN gds.graph.project($graph_name, source, target, {}, {undirectedRelationshipTypes: ['*']})
       AS projection
