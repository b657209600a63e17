"""The streaming export: chunked listens, the split computed on the way (equal to an in-memory
oracle, whatever the row and chunk order), the staged folder moved in whole, format 2 with
memory-mapped loading and worker shards."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.errors import ExportError
from mmkg.export import ExportedGraph, Selection, SplitConfig, export_heterograph
from mmkg.export.exported import LISTENED_COLUMNS, split_file
from mmkg.export.npy_append import NpyAppender, read_blocks
from mmkg.export.split import COLD_TRACKS, SplitProtocol, SplitStream, part_names
from tests import export_graph
from tests.split_oracle import oracle_split
from tests.synthetic_export import make_export

PROTOCOLS = [p.value for p in SplitProtocol]


def interactions(n_users: int = 40, n_tracks: int = 30, seed: int = 0):
    """Distinct (user, track) pairs with random ts; user 3 listened to every track."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, n_tracks - 1, n_users)
    counts[3] = n_tracks
    user = np.concatenate([np.full(c, u) for u, c in enumerate(counts)]).astype(np.int64)
    track = np.concatenate([rng.choice(n_tracks, c, replace=False) for c in counts]).astype(np.int64)
    return user, track, rng.random(len(user)) * 1e6


def stream(folder, user, track, ts, n_tracks, config, seed, *, users_per_chunk, rng=None):
    """Feed whole users in chunks (in a shuffled order, rows shuffled, when ``rng`` is given)."""
    n_users = int(user.max()) + 1
    starts = list(range(0, n_users, users_per_chunk))
    if rng is not None:
        starts = rng.permutation(starts).tolist()
    split = SplitStream(folder, config, seed, n_users, n_tracks)
    for start in starts:
        rows = np.flatnonzero((user >= start) & (user < start + users_per_chunk))
        if rng is not None:
            rows = rng.permutation(rows)
        split.add(user[rows], track[rows], ts[rows])
    sizes = split.close()
    return sizes, {name: np.load(folder / f"{name}.npy") for name in part_names(config.protocol)}


def sort_rows(array: np.ndarray) -> np.ndarray:
    return array[np.lexsort((array[:, 1], array[:, 0]))]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("users_per_chunk", [1, 7, 1000])
def test_streamed_split_equals_the_oracle(protocol, users_per_chunk, tmp_path):
    user, track, ts = interactions()
    config = SplitConfig(protocol=protocol)
    sizes, parts = stream(tmp_path, user, track, ts, 30, config, 5, users_per_chunk=users_per_chunk)
    expected = oracle_split(user, track, ts, 30, config, 5)
    for name, array in parts.items():
        np.testing.assert_array_equal(array, expected.get(name, np.zeros((0, 2), np.int64)), name)
        assert sizes[name] == len(array)
    cold = [f"{COLD_TRACKS}.npy"] if config.protocol is SplitProtocol.COLD_ITEMS else []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(f"{n}.npy" for n in parts), *cold])  # no _ctr left


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_split_does_not_depend_on_row_or_chunk_order(protocol, tmp_path):
    user, track, ts = interactions(seed=1)
    config = SplitConfig(protocol=protocol)
    _, straight = stream(tmp_path / "a", user, track, ts, 30, config, 2, users_per_chunk=40)
    _, shuffled = stream(tmp_path / "b", user, track, ts, 30, config, 2, users_per_chunk=3,
                         rng=np.random.default_rng(9))
    for name in straight:
        np.testing.assert_array_equal(sort_rows(shuffled[name]), sort_rows(straight[name]), name)
    _, other_seed = stream(tmp_path / "c", user, track, ts, 30, config, 3, users_per_chunk=40)
    assert any(not np.array_equal(other_seed[k], straight[k]) for k in ("valid", "valid_neg"))


def test_kgcn_ctr_counts_are_exact_over_all_labelled_rows(tmp_path, monkeypatch):
    monkeypatch.setattr("mmkg.export.split._SCAN_ROWS", 100)  # many blocks per pass
    user, track, ts = interactions(n_users=300, n_tracks=50, seed=2)
    config = SplitConfig(protocol="kgcn-ctr")
    sizes, parts = stream(tmp_path, user, track, ts, 50, config, 0, users_per_chunk=17)
    expected = oracle_split(user, track, ts, 50, config, 0)
    for name, array in parts.items():
        np.testing.assert_array_equal(array, expected[name], name)
    n_rows = sum(sizes.values())
    assert sizes["valid"] + sizes["valid_neg"] == n_rows * 2 // 10
    assert sizes["test"] + sizes["test_neg"] == n_rows * 2 // 10
    assert sizes["train"] + sizes["valid"] + sizes["test"] == len(user)


def test_a_user_in_two_chunks_is_refused(tmp_path):
    split = SplitStream(tmp_path, SplitConfig(), 0, 3, 10)
    split.add(np.array([0, 1]), np.array([1, 2]))
    with pytest.raises(ValueError, match="user index 1"):
        split.add(np.array([1]), np.array([3]))


def test_npy_appender_fixes_the_shape_on_close(tmp_path):
    with NpyAppender(tmp_path / "a.npy", np.int64, (2,)) as out:
        out.append(np.arange(6).reshape(3, 2))
        out.append(np.zeros((0, 2)))
        out.append([[7, 8]])
    assert np.load(tmp_path / "a.npy").tolist() == [[0, 1], [2, 3], [4, 5], [7, 8]]
    assert [b.tolist() for b in read_blocks(tmp_path / "a.npy", 3)] == [[[0, 1], [2, 3], [4, 5]], [[7, 8]]]
    with NpyAppender(tmp_path / "b.npy", np.float64) as out:
        pass
    assert np.load(tmp_path / "b.npy").shape == (0,)
    with pytest.raises(ValueError, match="shape"):
        NpyAppender(tmp_path / "c.npy", np.int64, (2,)).append(np.zeros(3))


def test_mmap_load_and_shards_disjoint_and_covering(tmp_path):
    folder = make_export().save(tmp_path / "e")
    loaded = ExportedGraph.load(folder, mmap=True)
    assert isinstance(loaded.split["train"], np.memmap) and loaded.manifest["format"] == 2
    train = loaded.split["train"]
    for world in (1, 2, 3, 7):
        shards = [loaded.shard(rank, world) for rank in range(world)]
        np.testing.assert_array_equal(np.concatenate(shards), train)
        assert max(map(len, shards)) - min(map(len, shards)) <= 1
    with pytest.raises(ValueError, match="rank 2"):
        loaded.shard(2, 2)


def test_format_1_folder_is_refused_in_one_line(tmp_path):
    folder = make_export().save(tmp_path / "old")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["format"]  # what format 1 wrote
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ExportError, match=r"format 1.*re-run `mmkg export`"):
        ExportedGraph.load(folder)
    result = CliRunner().invoke(cli, ["train", "--export", str(folder), "--out", str(tmp_path / "run")])
    assert result.exit_code != 0 and "re-run `mmkg export`" in result.output
    assert len(result.output.strip().splitlines()) == 1


# -- against Neo4j ------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_chunk_size_changes_nothing_and_listened_holds_every_interaction(export_graph_db, database, protocol,
                                                                          tmp_path):
    config = SplitConfig(protocol=protocol)
    folders = [export_heterograph(export_graph_db, database, tmp_path / str(size), split=config, seed=4,
                                  batch_size=size, progress=False) for size in (1, 4, 1000)]
    for other in folders[1:]:
        for name, array in folders[0].split.items():
            np.testing.assert_array_equal(other.split[name], array, name)
    exported = folders[0]
    listened = exported.listened
    assert set(listened) == set(LISTENED_COLUMNS)
    n = sum(len(v) for v in export_graph.LISTENS.values())
    assert exported.manifest["counts"]["interactions"] == n and len(listened["user"]) == n
    users, tracks = exported.id_maps["User"], exported.id_maps["Track"]
    for u, t, plays, ts in zip(*(listened[c].tolist() for c in ("user", "track", "plays", "ts"))):
        track, user = int(tracks[t]), int(users[u][1:])
        assert plays == 10 * track and ts == 1000 * user + 10 * track
    expected = oracle_split(listened["user"], listened["track"], listened["ts"], len(tracks), config, 4)
    for name, array in exported.split.items():
        np.testing.assert_array_equal(array, expected.get(name, np.zeros((0, 2), np.int64)), name)


def test_a_failed_export_leaves_no_folder_and_keeps_the_old_one(export_graph_db, database, tmp_path):
    out = tmp_path / "e"
    export_graph_db.execute_query("MATCH (:User {id: 'u4'})-[r:LISTENED]->(:Track {id: '9'}) SET r.ts = null",
                           database_=database)
    try:
        with pytest.raises(ExportError, match="ts"):
            export_heterograph(export_graph_db, database, out, split=SplitConfig(protocol="time"), progress=False)
        assert list(tmp_path.iterdir()) == []
        first = export_heterograph(export_graph_db, database, out, seed=1, progress=False)
        train = np.array(first.split["train"])
        with pytest.raises(ExportError, match="not empty"):
            export_heterograph(export_graph_db, database, out, progress=False)
        with pytest.raises(ExportError, match="ts"):
            export_heterograph(export_graph_db, database, out, split=SplitConfig(protocol="time"),
                               replace=True, progress=False)
        assert [p.name for p in tmp_path.iterdir()] == ["e"]
        np.testing.assert_array_equal(np.load(split_file(out, "train")), train)
    finally:
        export_graph_db.execute_query("MATCH (:User {id: 'u4'})-[r:LISTENED]->(:Track {id: '9'}) SET r.ts = 4090",
                               database_=database)


def test_users_who_listened_to_every_track_are_named_by_id(export_graph_db, database, tmp_path, caplog):
    """The tracks listened to by u1 are 1-5: u1 has no track left to draw a CTR negative from, and
    the warning names u1 by its id."""
    with caplog.at_level("WARNING", logger="mmkg.export.heterograph"):
        exported = export_heterograph(export_graph_db, database, tmp_path / "e", seed=0, progress=False,
                                      selection=Selection(users=("u1",)),
                                      split=SplitConfig(protocol="topk-801010"))
    assert len(exported.split["valid"]) > len(exported.split["valid_neg"])
    assert [r.getMessage() for r in caplog.records] == [
        "user 'u1' listened to every exported track, so no CTR negative could be drawn for it"]
