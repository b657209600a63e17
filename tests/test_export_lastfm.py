"""Export of the Last.FM KGCN dataset after a real ``ingest`` (about half a minute: one ingest)."""

from __future__ import annotations

import numpy as np
import pytest

from mmkg.ingest.pipeline import ingest
from mmkg.export import SplitConfig, export_heterograph
from mmkg.export.split import topk_801010_counts
from mmkg.graph.schema import apply_schema, reset_database
from tests.conftest import LASTFM, count


@pytest.fixture(scope="module")
def lastfm_db(driver, database):
    reset_database(driver, database)
    apply_schema(driver, database)
    ingest(driver, database, LASTFM, fmt="kgcn", progress=False)
    return driver


def per_user(array: np.ndarray, n_users: int) -> np.ndarray:
    return np.bincount(array[:, 0], minlength=n_users)


def test_lastfm_kgcn_ctr_export(lastfm_db, database, tmp_path):
    exported = export_heterograph(lastfm_db, database, tmp_path / "e", split=SplitConfig(protocol="kgcn-ctr"),
                                  progress=False)
    counts = exported.manifest["counts"]
    assert counts["nodes"] == {"Entity": 5_520, "Track": 3_846, "User": 1_872}
    kg = count(lastfm_db, database, "MATCH ()-[r]->() WHERE type(r) <> 'LISTENED' RETURN count(r) AS n")
    assert sum(exported.graph.num_edges(etype) for etype in exported.relations) == kg == 15_518
    assert counts["interactions"] == 21_173
    assert exported.id_maps["Track"][:3] == ["2", "3", "4"]  # numeric order of item ids

    split = exported.split
    positives = np.concatenate([split["train"], split["valid"], split["test"]])
    negatives = np.concatenate([split["train_neg"], split["valid_neg"], split["test_neg"]])
    n_users, n_tracks = exported.num_users, exported.num_tracks
    key = lambda a: a[:, 0] * n_tracks + a[:, 1]  # noqa: E731
    assert len(np.unique(key(positives))) == 21_173
    assert not np.isin(key(negatives), key(positives)).any()
    assert len(np.unique(key(negatives))) == len(negatives)
    n = per_user(positives, n_users)
    np.testing.assert_array_equal(per_user(negatives, n_users), np.minimum(n, n_tracks - n))
    listened = exported.listened["user"] * n_tracks + exported.listened["track"]
    assert sorted(listened.tolist()) == sorted(key(positives).tolist())


def test_lastfm_topk_801010_export(lastfm_db, database, tmp_path):
    exported = export_heterograph(lastfm_db, database, tmp_path / "e", split=SplitConfig(protocol="topk-801010"),
                                  seed=1, progress=False)
    split, n_users = exported.split, exported.num_users
    n = sum(per_user(split[k], n_users) for k in ("train", "valid", "test"))
    expected = np.array([topk_801010_counts(int(k)) for k in n]).reshape(-1, 2)
    np.testing.assert_array_equal(per_user(split["valid"], n_users), expected[:, 0])
    np.testing.assert_array_equal(per_user(split["test"], n_users), expected[:, 1])
    assert len(split["valid_neg"]) == len(split["valid"]) and len(split["test_neg"]) == len(split["test"])
