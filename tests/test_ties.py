"""Tracks with equal scores (a heuristic's counts, zeros) are ranked in a seeded order drawn over
the whole catalog, not by index, and the same whatever the ranking's depth: neither the evaluator
nor the published top-K lists may depend on the order in which the catalog happens to list its
tracks, and ``mmkg train``'s test figures equal ``mmkg eval``'s."""

import numpy as np
import pytest
import torch

from mmkg.train.data import TrainData
from mmkg.train.evaluate import evaluate
from mmkg.train.fit import embeddings, final_scoring
from mmkg.train.model.base import Recommender, tie_order, top_k
from mmkg.train.model.popularity import Popularity
from mmkg.train.ranking import ranked
from tests.synthetic_export import make_export

N_ITEMS, K = 1000, 100


def _spread(items: np.ndarray) -> bool:
    """True when a top-K of tied items draws from every fifth of the catalog (a block of the
    lowest or highest indices does not)."""
    return set(np.unique(np.asarray(items) * 5 // N_ITEMS).tolist()) == set(range(5))


def test_tie_order_is_a_seeded_permutation_and_its_inverse():
    order, position = tie_order(N_ITEMS)
    assert sorted(order.tolist()) == list(range(N_ITEMS)) and not torch.equal(order, torch.arange(N_ITEMS))
    assert torch.equal(order[position], torch.arange(N_ITEMS))
    assert torch.equal(order, tie_order.__wrapped__(N_ITEMS)[0])


def test_evaluator_ranks_tied_tracks_in_the_seeded_order():
    model = Popularity(np.zeros(N_ITEMS), n_users=3).eval()            # every score tied
    truth = np.array([[0, 5], [1, 6], [2, 7]])
    exclude = np.array([[0, 1], [1, 2]])
    top, hits, _ = ranked(model, truth, exclude, 3, K)
    for row in top:
        assert _spread(row) and len(set(row.tolist())) == K
    assert 1 not in top[0] and 2 not in top[1]


def test_published_top_k_ranks_tied_tracks_in_the_seeded_order():
    data = TrainData.from_export(make_export(n_users=4, n_items=N_ITEMS, listens=5))
    model = Popularity(np.zeros(N_ITEMS), n_users=data.n_users).eval()
    published = embeddings(model, data, k=K, users_per_chunk=3)
    train = {tuple(p) for p in data.split["train"]}
    for u, row in enumerate(published.topk_items.numpy()):
        assert _spread(row) and not any((u, i) in train for i in row)


class _Flat(Recommender):
    """A model that is not a vector model: :meth:`score_all` only, every score tied."""

    n_items = N_ITEMS

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(users), N_ITEMS)


def test_any_recommender_ranks_tied_tracks_in_the_seeded_order():
    items, _ = _Flat().recommend(torch.arange(2), K)
    assert all(_spread(row) for row in items.numpy())


@pytest.mark.parametrize("k", [1, 3, 7, 20])
def test_top_k_lists_equal_scores_by_column_at_any_depth(k):
    rng = np.random.default_rng(k)
    scores = rng.integers(0, 4, (30, 20)).astype(np.float32)          # many equal scores
    scores[rng.random((30, 20)) < 0.2] = -np.inf
    values, columns = top_k(torch.as_tensor(scores), k)
    for row, vals, cols in zip(scores, values.numpy(), columns.numpy()):
        want = np.lexsort((np.arange(20), -row))[:k]                    # score descending, then column
        assert np.array_equal(vals, row[want])
        finite = np.isfinite(vals)
        assert np.array_equal(cols[finite], want[finite])


def test_train_and_eval_give_the_same_test_figures_when_scores_tie():
    data = TrainData.from_export(make_export(n_users=40, n_items=300, listens=20, seed=1))
    model = Popularity(data.popularity(), n_users=data.n_users).eval()    # counts: many ties
    test, _ = final_scoring(model, data, test=True, users_per_chunk=7)
    assert test == pytest.approx(evaluate(model, data, "test"), abs=1e-12)
    shallow, deep = model.recommend(torch.arange(5), 10), model.recommend(torch.arange(5), 150)
    assert torch.equal(shallow[0], deep[0][:, :10])
