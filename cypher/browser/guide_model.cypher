// Guide slide 4, the current model: version, kind, how well it did on the held-out test split,
// when it was published, what it holds (its full params and metrics are JSON text on the node).
// Browser:  (no parameters)
// Params:   none
// Returns:  model (id), model_type (mkgcn, lightgcn...), test_recall_at_20, test_ndcg_at_20,
//           test_auc (floats, null when the run had none), created_at, dimension (int: embedding
//           size), k (int: recommendations per user)
MATCH (m:Model {current: true})
RETURN m.id AS model, m.model_type AS model_type, round(m.test_recall_at_20, 4) AS test_recall_at_20,
       round(m.test_ndcg_at_20, 4) AS test_ndcg_at_20, round(m.test_auc, 4) AS test_auc,
       m.created_at AS created_at, m.dimension AS dimension, m.k AS k
