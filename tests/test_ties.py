"""Tracks with equal scores (a heuristic's counts, zeros) are ranked in a seeded order drawn over
the whole catalog, not by index: neither the evaluator nor the published top-K lists may depend on
the order in which the catalog happens to list its tracks."""

import numpy as np
import torch

from mmkg.train.data import TrainData
from mmkg.train.fit import embeddings
from mmkg.train.model.base import Recommender, tie_order
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
