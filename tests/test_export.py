"""``export_heterograph`` against a real Neo4j holding the small graph of ``tests/export_graph.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.errors import ExportError
from mmkg.export import ExportedGraph, Selection, SplitConfig, export_heterograph
from mmkg.schema import KG_LABELS, NON_KG_RELS
from tests import export_graph
from tests.conftest import count

LISTENED = ("User", "LISTENED", "Track")


def export(driver, database, **kwargs) -> ExportedGraph:
    out = Path(tempfile.mkdtemp(prefix="mmkg-test-export-")) / "export"
    return export_heterograph(driver, database, out, progress=False, **kwargs)


def pairs(array: np.ndarray) -> set[tuple[int, int]]:
    return {(int(u), int(t)) for u, t in array}


def listened_pairs(exported: ExportedGraph) -> set[tuple[int, int]]:
    return set(zip(exported.listened["user"].tolist(), exported.listened["track"].tolist()))


def all_listens(exported: ExportedGraph) -> set[tuple[int, int]]:
    users, tracks = exported.id_maps["User"], exported.id_maps["Track"]
    return {(users.index(u), tracks.index(str(t)))
            for u, ts in export_graph.LISTENS.items() if u in users
            for t in ts if str(t) in tracks}


@pytest.fixture(scope="module")
def full(export_graph_db, database) -> ExportedGraph:
    return export(export_graph_db, database, seed=3)


def test_counts_equal_database_counts(full, export_graph_db, database):
    for label in [*(label.value for label in KG_LABELS), "User"]:
        n = count(export_graph_db, database, f"MATCH (n:{label}) RETURN count(n) AS n")
        assert len(full.id_maps.get(label, [])) == n
        assert (full.graph.num_nodes(label) if label in full.graph.ntypes else 0) == n
    assert "Tag" not in full.graph.ntypes  # node types are the labels present
    kg = count(export_graph_db, database, "MATCH (a)-[r]->(b) WHERE NOT type(r) IN $non_kg "
               "AND NOT a:User AND NOT b:Feature RETURN count(r) AS n", non_kg=sorted(NON_KG_RELS))
    assert kg == export_graph.KG_EDGES
    assert sum(full.graph.num_edges(etype) for etype in full.relations) == kg
    listens = count(export_graph_db, database, "MATCH ()-[r:LISTENED]->() RETURN count(r) AS n")
    parts = full.manifest["counts"]["split"]
    assert parts["train"] + parts["valid"] + parts["test"] == listens
    assert full.graph.num_edges(LISTENED) == 0 and len(full.split["train"]) == parts["train"]
    assert full.manifest["counts"]["interactions"] == listens


def test_id_maps_are_sorted_and_stable(full, export_graph_db, database):
    assert full.id_maps["Track"] == [str(t) for t in range(1, 13)]  # numeric, not "1", "10", ...
    assert full.id_maps["Entity"] == ["e1", "e2", "e3", "e9"]
    again = export(export_graph_db, database, seed=4)
    assert again.id_maps == full.id_maps
    assert again.relations == full.relations


def test_edge_types_and_relations(full):
    assert full.relations == sorted(full.relations)
    assert ("Artist", "music.artist.origin", "Entity") in full.relations
    assert ("Album", "PERFORMED_BY", "Artist") in full.relations
    assert ("Track", "PERFORMED_BY", "Artist") in full.relations
    assert LISTENED not in full.relations
    tracks, artists = full.id_maps["Track"], full.id_maps["Artist"]
    src, dst = full.graph.edges(etype=("Track", "PERFORMED_BY", "Artist"))
    performed = {(tracks[s], artists[d]) for s, d in zip(src.tolist(), dst.tolist())}
    assert performed == {(str(t), f"a{(t - 1) // 4 + 1}") for t in range(1, 13)}


def test_ratio_split_is_disjoint_and_follows_the_floor_rule(full):
    split = full.split
    parts = {k: pairs(split[k]) for k in ("train", "valid", "test")}
    assert parts["train"].isdisjoint(parts["valid"]) and parts["train"].isdisjoint(parts["test"])
    assert parts["valid"].isdisjoint(parts["test"])
    assert parts["train"] | parts["valid"] | parts["test"] == all_listens(full)
    users = full.id_maps["User"]
    for user, listens in export_graph.LISTENS.items():
        u = users.index(user)
        n = len(listens)
        n_valid = sum(1 for p in parts["valid"] if p[0] == u)
        n_test = sum(1 for p in parts["test"] if p[0] == u)
        assert (n_valid, n_test) == (n * 2 // 10, n * 2 // 10), user  # u4 (n=2): all in train


def test_listened_holds_every_interaction_with_plays_and_ts(full):
    assert listened_pairs(full) == all_listens(full)
    assert len(full.listened["user"]) == len(all_listens(full))
    tracks = full.id_maps["Track"]
    columns = (full.listened[c].tolist() for c in ("user", "track", "plays", "ts"))
    for u, t, p, stamp in zip(*columns):
        track = int(tracks[t])
        user = int(full.id_maps["User"][u][1:])
        assert p == 10 * track and stamp == 1000 * user + 10 * track


def test_ctr_negatives_are_never_listened_and_aligned(full):
    listened = all_listens(full)
    for pos, neg in (("valid", "valid_neg"), ("test", "test_neg")):
        assert pairs(full.split[neg]).isdisjoint(listened)
        assert full.split[neg][:, 0].tolist() == full.split[pos][:, 0].tolist()
    u6 = full.id_maps["User"].index("u6")  # 4 valid/test listens, only tracks 11 and 12 unseen
    negatives = np.concatenate([full.split["valid_neg"], full.split["test_neg"]])
    mine = negatives[negatives[:, 0] == u6, 1].tolist()
    assert len(mine) == 4 and set(mine) <= {10, 11}


def test_same_seed_same_split_other_seed_other_split(full, export_graph_db, database):
    same = export(export_graph_db, database, seed=3)
    other = export(export_graph_db, database, seed=4)
    for key in full.split:
        np.testing.assert_array_equal(same.split[key], full.split[key])
    assert any(not np.array_equal(other.split[k], full.split[k]) for k in ("train", "valid", "valid_neg"))


def test_time_split_puts_the_newest_listens_in_test(export_graph_db, database):
    exported = export(export_graph_db, database, split=SplitConfig(protocol="time"))
    tracks = exported.id_maps["Track"]
    users = exported.id_maps["User"]
    for user, listens in export_graph.LISTENS.items():
        u = users.index(user)
        test = sorted(int(tracks[t]) for uu, t in exported.split["test"] if uu == u)
        valid = sorted(int(tracks[t]) for uu, t in exported.split["valid"] if uu == u)
        k = len(listens) * 2 // 10
        assert test == sorted(listens)[len(listens) - k:]  # ts grows with the track id
        assert valid == sorted(listens)[len(listens) - 2 * k:len(listens) - k]


def test_kgcn_ctr_split(export_graph_db, database):
    exported = export(export_graph_db, database, split=SplitConfig(protocol="kgcn-ctr"), seed=1)
    split = exported.split
    listened = all_listens(exported)
    positives = pairs(np.concatenate([split["train"], split["valid"], split["test"]]))
    negatives = np.concatenate([split["train_neg"], split["valid_neg"], split["test_neg"]])
    assert positives == listened
    assert pairs(negatives).isdisjoint(listened)
    assert len(pairs(negatives)) == len(negatives)  # drawn without replacement
    users = exported.id_maps["User"]
    for user, listens in export_graph.LISTENS.items():
        n_neg = int((negatives[:, 0] == users.index(user)).sum())
        assert n_neg == min(len(listens), 12 - len(listens))  # u6: only 2 unseen tracks
    n_rows = len(listened) + len(negatives)  # 32 + 24 labelled rows, split 6:2:2 over all of them
    assert len(split["valid"]) + len(split["valid_neg"]) == n_rows * 2 // 10
    assert len(split["test"]) + len(split["test_neg"]) == n_rows * 2 // 10


def test_topk_801010_split(export_graph_db, database):
    exported = export(export_graph_db, database, split=SplitConfig(protocol="topk-801010"), seed=2)
    users = exported.id_maps["User"]
    expected = {"u1": (3, 1, 1), "u2": (4, 1, 1), "u3": (4, 1, 1), "u4": (2, 0, 0),
                "u5": (2, 0, 1), "u6": (8, 1, 1)}
    for user, sizes in expected.items():
        u = users.index(user)
        got = tuple(int((exported.split[k][:, 0] == u).sum()) for k in ("train", "valid", "test"))
        assert got == sizes, user
    assert len(exported.split["valid_neg"]) == len(exported.split["valid"])
    assert pairs(np.concatenate([exported.split[k] for k in ("train", "valid", "test")])) \
        == listened_pairs(exported)


def test_time_split_needs_timestamps(export_graph_db, database):
    export_graph_db.execute_query("MATCH (:User {id: 'u4'})-[r:LISTENED]->(:Track {id: '9'}) "
                           "SET r.ts = null", database_=database)
    try:
        with pytest.raises(ExportError, match="ts"):
            export(export_graph_db, database, split=SplitConfig(protocol="time"))
    finally:
        export_graph_db.execute_query("MATCH (:User {id: 'u4'})-[r:LISTENED]->(:Track {id: '9'}) "
                               "SET r.ts = 4090", database_=database)


def test_selection_by_genre_walks_hops(export_graph_db, database):
    rock = export(export_graph_db, database, selection=Selection(genres=("Rock",)))
    assert rock.id_maps["Track"] == ["1", "2", "3", "4", "5", "6"]
    assert rock.id_maps["Artist"] == ["a1", "a2"]
    assert rock.id_maps["Entity"] == ["e1", "e3"]  # e2 is 3 hops away; e9 is unreachable
    assert rock.id_maps["User"] == ["u1", "u2", "u4", "u5", "u6"]  # u3 listened to jazz only
    assert rock.graph.num_edges(("Track", "PERFORMED_BY", "Artist")) == 6
    assert rock.graph.num_edges(("Album", "PERFORMED_BY", "Artist")) == 1
    assert pairs(rock.split["train"]) | pairs(rock.split["valid"]) | pairs(rock.split["test"]) \
        == all_listens(rock)
    deeper = export(export_graph_db, database, selection=Selection(genres=("g1",), hops=3))
    assert deeper.id_maps["Entity"] == ["e1", "e2", "e3"]
    assert deeper.graph.num_edges(("Entity", "location.location.containedby", "Entity")) == 1
    assert deeper.id_maps["Track"] == rock.id_maps["Track"]  # tracks 7, 8 (artist a2) stay out


def test_selection_by_users_and_predicate(export_graph_db, database):
    by_users = export(export_graph_db, database, selection=Selection(users=("u4", "u5", "nobody")))
    assert by_users.id_maps["User"] == ["u4", "u5"]
    assert by_users.id_maps["Track"] == ["1", "2", "6", "9", "10"]
    recent = export(export_graph_db, database, selection=Selection(where="t.year >= 2000"))
    assert recent.id_maps["Track"] == ["10", "11", "12"]
    both = export(export_graph_db, database, selection=Selection(users=("u4",), where="t.year < 2000"))
    assert both.id_maps["Track"] == ["1", "9"]
    with pytest.raises(ExportError, match="predicate"):
        export(export_graph_db, database, selection=Selection(where="t.year >>> 3"))
    with pytest.raises(ExportError, match="no track"):
        export(export_graph_db, database, selection=Selection(genres=("Polka",)))


def test_genre_names_match_in_any_case(export_graph_db, database):
    assert export(export_graph_db, database, selection=Selection(genres=("rOCK",))).id_maps["Track"] \
        == ["1", "2", "3", "4", "5", "6"]


def test_an_empty_selection_says_what_each_criterion_kept(export_graph_db, database):
    def why(**selection) -> str:
        with pytest.raises(ExportError) as raised:
            export(export_graph_db, database, selection=Selection(**selection))
        return str(raised.value)

    assert why(genres=("Polka", "Ska")) == ("the selection matched no track: genre 'Polka' or 'Ska': "
                                            "0 track(s); genres (by id or name): 'Jazz', 'Rock'")
    assert why(genres=("Rock",), where="t.year >= 2000") == (
        "the selection matched no track: genre 'Rock': 6 track(s); where t.year >= 2000: 3 track(s); "
        "no track meets every criterion")
    assert why(users=("x1", "x2", "x3", "x4")) == (
        "the selection matched no track: listened to by user 'x1', 'x2' or 'x3' (and 1 more): 0 track(s)")


def test_modalities_are_aligned_with_the_track_map(full):
    audio = full.modalities["audio_demo"]
    assert audio["kind"] == "Audio" and audio["values"].dtype == torch.float32
    assert audio["values"].shape == (12, 4)
    for k, track in enumerate(full.id_maps["Track"]):
        t = int(track)
        if t <= 10:
            assert audio["mask"][k] and audio["values"][k].tolist() == pytest.approx(export_graph.audio_vector(t))
        else:
            assert not audio["mask"][k] and not audio["values"][k].any()
        assert full.modalities["text_demo"]["values"][k].tolist() == export_graph.text_vector(t)
    assert bool(full.modalities["text_demo"]["mask"].all())


def test_save_and_load_without_neo4j(full, tmp_path):
    full.save(tmp_path / "out")
    code = ("import sys, json; from mmkg.export import ExportedGraph; "
            "e = ExportedGraph.load(sys.argv[1]); "
            "print(json.dumps([e.num_tracks, e.num_users, len(e.split['train']), "
            "len(e.split['test']), e.modalities['audio_demo']['values'].shape[1], e.manifest['seed']]))")
    env = {**os.environ, "MMKG_NEO4J_URI": "bolt://127.0.0.1:9", "MMKG_NEO4J_PASSWORD": "wrong"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == (
        f"[12, 6, {len(full.split['train'])}, {len(full.split['test'])}, 4, 3]")


def test_cli_export(export_graph_db, database, tmp_path, uri_scheme):
    users = tmp_path / "users.txt"
    users.write_text("u1\nu2\n")
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "out"), "--users-file", str(users),
                                      "--split", "topk-801010", "--split-seed", "5"])
    assert result.exit_code == 0, result.output
    assert "nodes:" in result.output and "Track 8" in result.output
    assert "listens: 11\n" in result.output and "LISTENED" not in result.output  # u1 5, u2 6
    manifest = ExportedGraph.load(tmp_path / "out").manifest
    assert manifest["selection"]["users"] == ["u1", "u2"]
    assert manifest["split"]["protocol"] == "topk-801010" and manifest["seed"] == 5
    assert manifest["source"]["uri"].startswith(f"{uri_scheme}://") and "@" not in manifest["source"]["uri"]
    assert "export_listens" in manifest["queries"]
    bad = CliRunner().invoke(cli, ["export", str(tmp_path / "x"), "--ratios", "6:2"])
    assert bad.exit_code == 2 and "6:2:2" in bad.output
    bad = CliRunner().invoke(cli, ["export", str(tmp_path / "x"), "--hops", "-1"])
    assert bad.exit_code == 2 and "'--hops': -1 is not in the range 0<=x<=6" in bad.output
    bad = CliRunner().invoke(cli, ["export", str(tmp_path / "x"), "--where", " "])
    assert bad.exit_code == 2 and "where: the Cypher predicate is empty (got ' ')" in bad.output
    assert len(bad.output.strip().splitlines()) == 1, bad.output


def test_cli_train_splits_with_the_split_seed_and_trains_with_the_seed(export_graph_db, database, tmp_path):
    """`mmkg train` without --export exports into OUT/export with --split-seed; --seed is the
    model's alone: two runs that differ only in it train on the same split."""
    for run, seed in (("a", "5"), ("b", "6")):
        result = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / run), "--split-seed", "3", "--seed", seed,
                                          "--set", "epochs=1", "--set", "model.dim=8", "--quiet"])
        assert result.exit_code == 0, result.output
    a, b = (ExportedGraph.load(tmp_path / run / "export") for run in "ab")
    assert a.manifest["seed"] == b.manifest["seed"] == 3
    assert all(np.array_equal(a.split[k], b.split[k]) for k in ("train", "valid", "test"))
    seeds = [json.loads((tmp_path / run / "config.json").read_text())["seed"] for run in "ab"]
    assert seeds == [5, 6]


def test_cli_train_exports_the_database_afresh_on_every_run_but_resume(export_graph_db, database, tmp_path):
    """A second `mmkg train --out RUN` trains on the database as it is now, not on the export
    the first run left in RUN/export (a re-run `make demo` after the database changed); only
    --resume goes on with the export it started on."""
    run = tmp_path / "run"
    args = ["train", "--out", str(run), "--set", "epochs=1", "--set", "model.dim=8", "--quiet"]
    first = CliRunner().invoke(cli, [*args, "--split-seed", "3"])
    assert first.exit_code == 0, first.output
    export_graph_db.execute_query("MATCH (u:User {id: 'u4'}) MERGE (u)-[:LISTENED]->(:Track {id: 'late'})",
                                  database_=database)
    try:
        again = CliRunner().invoke(cli, [*args, "--split-seed", "4"])
        assert again.exit_code == 0, again.output
        assert ExportedGraph.load(run / "export").manifest["seed"] == 4
        assert "late" in ExportedGraph.load(run / "export").id_maps["Track"]
        resumed = CliRunner().invoke(cli, [*args, "--split-seed", "5", "--resume"])
        assert resumed.exit_code == 0, resumed.output
        assert ExportedGraph.load(run / "export").manifest["seed"] == 4
    finally:
        export_graph_db.execute_query("MATCH (t:Track {id: 'late'}) DETACH DELETE t", database_=database)


def test_listened_selection_leaves_out_the_tracks_nobody_listened_to(export_graph_db, database, tmp_path):
    """`Selection(listened=True)` (`mmkg export --listened`) exports the tracks with a listen and
    counts the others; the default selection keeps them."""
    export_graph_db.execute_query("MATCH (a:Artist {id: 'a1'}) MERGE (:Track {id: 'unplayed'})-[:PERFORMED_BY]->(a) "
                                  "MERGE (:User {id: 'idle'})", database_=database)
    try:
        listened = export(export_graph_db, database, selection=Selection(listened=True))
        assert listened.id_maps["Track"] == [str(t) for t in range(1, 13)]
        assert listened.id_maps["User"] == ["u1", "u2", "u3", "u4", "u5", "u6"]  # not 'idle'
        assert listened.manifest["counts"]["unlistened_tracks"] == 1
        assert listened.manifest["selection"]["listened"] is True
        walked = export(export_graph_db, database, selection=Selection(listened=True, where="true"))
        assert walked.id_maps == listened.id_maps  # every user with a listen = the tracks' listeners
        whole = export(export_graph_db, database)
        assert "unplayed" in whole.id_maps["Track"] and "idle" in whole.id_maps["User"]
        result = CliRunner().invoke(cli, ["export", str(tmp_path / "out"), "--listened"])
        assert result.exit_code == 0, result.output
        assert "left out: 1 track(s) nobody has listened to" in result.output
        assert "unplayed" not in ExportedGraph.load(tmp_path / "out").id_maps["Track"]
    finally:
        export_graph_db.execute_query("MATCH (n) WHERE n.id IN ['unplayed', 'idle'] DETACH DELETE n",
                                      database_=database)


def test_cli_train_leaves_out_the_tracks_nobody_listened_to_unless_all_tracks(export_graph_db, database, tmp_path):
    """`mmkg train` trains on the tracks with a listen and names how many it left out, and
    whether publish can place them (MKGCN: yes, LightGCN: no); `--all-tracks` trains on every
    track; with --export it is refused."""
    export_graph_db.execute_query("MATCH (a:Artist {id: 'a1'}) MERGE (:Track {id: 'unplayed'})-[:PERFORMED_BY]->(a)",
                                  database_=database)
    args = ["train", "--set", "epochs=1", "--set", "model.dim=8", "--quiet"]
    try:
        default = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "a")])
        assert default.exit_code == 0, default.output
        assert "unplayed" not in ExportedGraph.load(tmp_path / "a" / "export").id_maps["Track"]
        assert f"left out: 1 track(s) nobody has listened to; `mmkg publish {tmp_path / 'a'}` places" \
            in default.output
        every = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "b"), "--all-tracks"])
        assert every.exit_code == 0, every.output
        assert "unplayed" in ExportedGraph.load(tmp_path / "b" / "export").id_maps["Track"]
        assert "left out" not in every.output
        lightgcn = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "d"), "--model", "lightgcn"])
        assert lightgcn.exit_code == 0, lightgcn.output
        assert ("left out: 1 track(s) nobody has listened to; mkgcn can place them, this run's model "
                "(lightgcn) cannot") in lightgcn.output
        refused = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "c"), "--all-tracks",
                                           "--export", str(tmp_path / "b" / "export")])
        assert refused.exit_code == 2 and "--all-tracks" in refused.output
        assert not (tmp_path / "c").exists()
    finally:
        export_graph_db.execute_query("MATCH (t:Track {id: 'unplayed'}) DETACH DELETE t", database_=database)


def test_inconsistent_feature_dims_name_the_tracks(export_graph_db, database):
    export_graph.add_feature(export_graph_db, database, "broken", "Audio",
                             {1: [1.0, 2.0], 2: [1.0, 2.0], 3: [1.0, 2.0], 7: [1.0, 2.0, 3.0]})
    try:
        with pytest.raises(ExportError) as error:
            export(export_graph_db, database)
        assert "'broken'" in str(error.value) and "offending tracks: 7" in str(error.value)
    finally:
        export_graph_db.execute_query("MATCH (f:Feature {name: 'broken'}) DETACH DELETE f", database_=database)
