// Project an export's training graph into the GDS graph catalog as $graph_name (undirected).
// Nodes: every exported node, so that each user and track gets a vector (isolated ones too).
// Relationships: the export's training interactions and its KG edges, both passed in: nothing
// else of the database (validation/test listens in particular) reaches the projection. They are
// projected untyped: FastRP does not tell types apart, and GDS builds one (large) buffer per type.
// The label disjunction lets each lookup use the per-label `id` index; `IN labels(n)` then keeps
// the node of the named label (ids are unique per label only).
// Params: $graph_name (string), $nodes (list of [label, id]),
//         $edges (list of [source label, source id, target label, target id]).
// Columns: projection (GDS's summary map: nodeCount, relationshipCount — each undirected edge
//          counts twice —, projectMillis, ...).
CALL () {
  UNWIND $nodes AS node
  MATCH (source:User|Track|Artist|Album|Genre|Tag|Entity {id: node[1]})
  WHERE node[0] IN labels(source)
  RETURN source, null AS target
  UNION ALL
  UNWIND $edges AS edge
  MATCH (source:User|Track|Artist|Album|Genre|Tag|Entity {id: edge[1]})
  WHERE edge[0] IN labels(source)
  MATCH (target:User|Track|Artist|Album|Genre|Tag|Entity {id: edge[3]})
  WHERE edge[2] IN labels(target)
  RETURN source, target
}
RETURN gds.graph.project($graph_name, source, target, {}, {undirectedRelationshipTypes: ['*']})
       AS projection
