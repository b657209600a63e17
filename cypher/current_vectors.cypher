// The current model's vectors of some tracks or users (what the model learned for them).
// Browser:  :param ids => ['t1', 'u1']
// Params:   $ids (list of string: Track or User ids)
// Returns:  id (string), label ('Track' or 'User'), vector (list of float, or null when the
//           current model has none for the node), model (current Model.id); one row per node found
MATCH (m:Model {current: true})
MATCH (n:Track|User) WHERE n.id IN $ids
RETURN n.id AS id, head([l IN labels(n) WHERE l IN ['Track', 'User']]) AS label,
       n[m.vector_property] AS vector, m.id AS model
ORDER BY label, id
