"""Neighbour tables, history tables and negative sampling."""

import numpy as np
import pytest
import torch

from mmkg.train.sampling import NegativeSampler, history_table, neighbour_table

torch.set_num_threads(1)


def _kg():
    # entity 0: degree 5 (relations 0/1), entity 1..5 degree 1, entity 6 isolated; both directions
    heads = np.array([0, 0, 0, 0, 0])
    tails = np.array([1, 2, 3, 4, 5])
    rels = np.array([0, 0, 1, 1, 1])
    kg = np.stack([heads, rels, tails], 1)
    return np.concatenate([kg, kg[:, [2, 1, 0]]])


def test_neighbour_table_shapes_and_self_loops():
    ent, rel = neighbour_table(7, _kg(), k=3, self_relation=9, rng=np.random.default_rng(0))
    assert ent.shape == rel.shape == (7, 3) and ent.dtype == torch.int64
    assert (ent[6] == 6).all() and (rel[6] == 9).all()          # isolated → self-loops
    assert len(set(ent[0].tolist())) == 3                       # degree 5 ≥ K: no repeats
    assert set(ent[0].tolist()) <= {1, 2, 3, 4, 5}
    assert (ent[1:6] == 0).all()                                # degree 1 < K: with replacement
    expected_rel = {1: 0, 2: 0, 3: 1, 4: 1, 5: 1}
    for row in range(6):
        for e, r in zip(ent[row].tolist(), rel[row].tolist()):
            other = e if row == 0 else row
            assert r == expected_rel[other]                     # relation of the sampled edge


def test_neighbour_table_is_seeded():
    a = neighbour_table(7, _kg(), 3, 9, np.random.default_rng(5))
    b = neighbour_table(7, _kg(), 3, 9, np.random.default_rng(5))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_history_table_holds_training_items_only():
    train = np.array([[0, 1], [0, 2], [0, 3], [1, 4]])
    items, mask = history_table(3, train, k=2, rng=np.random.default_rng(0))
    assert items.shape == mask.shape == (3, 2)
    assert mask[0].all() and set(items[0].tolist()) <= {1, 2, 3} and len(set(items[0].tolist())) == 2
    assert mask[1].tolist() == [True, False] and items[1, 0] == 4
    assert not mask[2].any()                                    # no history


def test_negatives_never_positive_and_respect_ratio():
    rng = np.random.default_rng(0)
    train = np.array([(u, i) for u in range(20) for i in rng.choice(30, 10 + u % 5, replace=False)])
    sampler = NegativeSampler(train, n_items=30, ratio=3)
    neg = sampler.sample(np.random.default_rng(1))
    assert neg.shape == (len(train), 3)
    users = np.repeat(train[:, 0], 3)
    assert not sampler.is_positive(users, neg.reshape(-1)).any()
    positives = {tuple(p) for p in train}
    assert not any((u, i) in positives for u, i in zip(users, neg.reshape(-1)))
    per_user = np.bincount(users, minlength=20)
    assert (per_user == 3 * np.bincount(train[:, 0], minlength=20)).all()


def test_negatives_are_seeded_and_resampled():
    train = np.array([[0, 0], [1, 1], [1, 2]])
    sampler = NegativeSampler(train, n_items=50, ratio=4)
    a, b = sampler.sample(np.random.default_rng(3)), sampler.sample(np.random.default_rng(3))
    c = sampler.sample(np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_popularity_alpha_shifts_negatives_towards_popular_items():
    # item 0 listened by 30 users, items 1..39 by one user each; user 99 samples negatives
    train = np.array([(u, 0) for u in range(30)] + [(30 + i, i) for i in range(1, 40)] + [(99, 39)])
    users_99 = train[:, 0] == 99
    counts = {}
    for alpha in (0.0, 1.0):
        neg = NegativeSampler(train, 40, ratio=2000, alpha=alpha).sample(np.random.default_rng(0))
        counts[alpha] = np.mean(neg[users_99] == 0)
    assert counts[0.0] == pytest.approx(1 / 39, abs=0.02)     # uniform over the 39 non-positives
    assert counts[1.0] > 5 * counts[0.0]


def test_user_with_every_item_is_refused():
    from mmkg.errors import TrainError

    with pytest.raises(TrainError, match="no negative exists"):
        NegativeSampler(np.array([[0, 0], [0, 1]]), n_items=2)


def test_positive_grid_from_listeners_equals_the_pairwise_test():
    """``grid`` (the listeners of a batch's shared negatives) marks exactly what ``contains``
    finds pair by pair, with repeated users and repeated items."""
    from mmkg.train.sampling import _TrainPositives

    rng = np.random.default_rng(1)
    train = np.stack([rng.integers(0, 30, 400), rng.integers(0, 20, 400)], 1)
    positives = _TrainPositives(train, 20)
    users = torch.as_tensor(rng.integers(0, 30, 90))
    items = torch.as_tensor(rng.integers(0, 20, 15))
    expected = positives.contains(users.unsqueeze(1), items.unsqueeze(0))
    assert expected.any() and not expected.all()
    assert torch.equal(positives.grid(users, items), expected)
