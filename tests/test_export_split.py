"""The split protocols on hand-made interaction arrays (no Neo4j needed)."""

from __future__ import annotations

import numpy as np
import pytest

from mmkg.errors import ExportError
from mmkg.export.columns import Column
from mmkg.export.idmap import IdMap, sorted_ids
from mmkg.export.split import SplitConfig, SplitStream, part_names, sample_unseen, topk_801010_counts


def interactions(counts: list[int], n_tracks: int, seed: int = 0):
    """User ``u`` listens to ``counts[u]`` distinct random tracks, rows in random order."""
    rng = np.random.default_rng(seed)
    user = np.concatenate([np.full(n, u) for u, n in enumerate(counts)])
    track = np.concatenate([rng.choice(n_tracks, n, replace=False) for n in counts])
    order = rng.permutation(len(user))
    return user[order].astype(np.int64), track[order].astype(np.int64)


@pytest.mark.parametrize("n, expected", [(1, (0, 0)), (2, (0, 0)), (3, (0, 1)), (4, (1, 1)),
                                         (10, (1, 1)), (19, (1, 1)), (20, (2, 2)), (25, (2, 2))])
def test_topk_801010_counts(n, expected):
    assert topk_801010_counts(n) == expected


def split_interactions(folder, user, track, ts, n_tracks, config, seed) -> dict[str, np.ndarray]:
    """Every part of the split of the interactions, given as one chunk."""
    split = SplitStream(folder, config, seed, int(user.max()) + 1, n_tracks)
    split.add(user, track, ts)
    split.close()
    return {name: np.load(folder / f"{name}.npy") for name in part_names(config.protocol)}


def test_ratio_split_counts_and_order_independence(tmp_path):
    user, track = interactions([4, 5, 9, 10, 50], n_tracks=80)
    config = SplitConfig(ratios=(6, 2, 2))
    split = split_interactions(tmp_path / "a", user, track, None, 80, config, seed=7)
    sizes = {k: np.bincount(split[k][:, 0], minlength=5).tolist() for k in ("train", "valid", "test")}
    assert sizes["valid"] == sizes["test"] == [0, 1, 1, 2, 10]
    assert sizes["train"] == [4, 3, 7, 6, 30]
    pairs = np.concatenate([split[k] for k in ("train", "valid", "test")])
    assert sorted(map(tuple, pairs.tolist())) == sorted(zip(user.tolist(), track.tolist()))  # a partition
    # The same interaction set streamed in another order gives the same pairs.
    perm = np.random.default_rng(1).permutation(len(user))
    again = split_interactions(tmp_path / "b", user[perm], track[perm], None, 80, config, seed=7)
    for key, array in split.items():
        np.testing.assert_array_equal(again[key], array)


def test_negatives_are_unseen_and_one_per_positive(tmp_path):
    user, track = interactions([10, 20, 30], n_tracks=40)
    arrays = split_interactions(tmp_path, user, track, None, 40, SplitConfig(), seed=0)
    seen = set(zip(user.tolist(), track.tolist()))
    for pos, neg in (("valid", "valid_neg"), ("test", "test_neg")):
        assert len(arrays[neg]) == len(arrays[pos])
        assert not seen & set(map(tuple, arrays[neg].tolist()))
        np.testing.assert_array_equal(arrays[neg][:, 0], arrays[pos][:, 0])


def test_time_split_orders_by_ts_and_needs_every_ts(tmp_path):
    user = np.zeros(5, dtype=np.int64)
    track = np.array([4, 3, 2, 1, 0], dtype=np.int64)
    ts = np.array([50.0, 40.0, 30.0, 20.0, 10.0])
    split = split_interactions(tmp_path / "a", user, track, ts, 10, SplitConfig(protocol="time"), seed=0)
    assert split["test"][:, 1].tolist() == [4] and split["valid"][:, 1].tolist() == [3]
    ts[2] = np.nan
    with pytest.raises(ExportError, match="1 have none"):
        split_interactions(tmp_path / "b", user, track, ts, 10, SplitConfig(protocol="time"), seed=0)


def test_kgcn_ctr_splits_all_labelled_rows_globally(tmp_path):
    user, track = interactions([5, 8, 12], n_tracks=15)
    split = split_interactions(tmp_path, user, track, None, 15, SplitConfig(protocol="kgcn-ctr"), seed=3)
    negatives = np.concatenate([split[k] for k in ("train_neg", "valid_neg", "test_neg")])
    per_user = np.bincount(negatives[:, 0], minlength=3).tolist()
    assert per_user == [5, 7, 3]  # min(n, 15 - n)
    n_rows = len(user) + len(negatives)  # 25 + 15 = 40 → 8 valid, 8 test, 24 train
    assert len(split["valid"]) + len(split["valid_neg"]) == 8
    assert len(split["test"]) + len(split["test_neg"]) == 8
    assert len(split["train"]) + len(split["train_neg"]) == n_rows - 16


def test_sample_unseen():
    rng = np.random.default_rng(0)
    seen = np.array([1, 3, 5], dtype=np.int64)
    drawn = sample_unseen(rng, seen, 100, 50)
    assert len(set(drawn.tolist())) == 50 and not set(drawn.tolist()) & {1, 3, 5}
    assert sorted(sample_unseen(rng, seen, 6, 10).tolist()) == [0, 2, 4]  # all there is
    repeated = sample_unseen(rng, seen, 6, 10, replace=True)
    assert len(repeated) == 10 and set(repeated.tolist()) <= {0, 2, 4}
    assert len(sample_unseen(rng, np.arange(6), 6, 3)) == 0


def test_invalid_ratios():
    with pytest.raises(ValueError, match=r"ratios must be ≥ 0 with a positive train share, got \(0\.0, 1\.0, 1\.0\)"):
        SplitConfig(ratios=(0, 1, 1))


def test_id_order_and_columns():
    assert sorted_ids(["10", "2", "1"]) == ["1", "2", "10"]
    assert sorted_ids(["b", "10", "a"]) == ["10", "a", "b"]
    ids = IdMap(["x", "y"])
    assert ids.get("y") == 1 and ids.get("z") == -1 and "x" in ids
    column = Column(np.int64, chunk_rows=4)
    column.extend(range(10))
    column.extend([10])
    assert len(column) == 11 and column.to_numpy().tolist() == list(range(11))
