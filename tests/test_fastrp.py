"""GDS FastRP inside our server: the plugin loads, the export step sees the training graph only,
and the ``fastrp`` baseline trains and reports in the same harness (real Neo4j, never mocked)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.errors import TrainError
from mmkg.export import ExportedGraph, SplitConfig, export_heterograph
from mmkg.export.fastrp import FastRPConfig, add_fastrp
from mmkg.graph.schema import apply_schema, reset_database
from mmkg.server.local import GDS_VERSION
from mmkg.train.data import TrainData
from mmkg.train.model import build_model
from mmkg.train.model.fastrp import FastRP
from tests import export_graph
from tests.synthetic_export import make_export

CONFIG = FastRPConfig(dim=16, seed=7)


@pytest.fixture()
def graph_db(empty_db, database):
    export_graph.build(empty_db, database)
    return empty_db


def _export(driver, database) -> ExportedGraph:
    out = Path(tempfile.mkdtemp(prefix="mmkg-test-fastrp-")) / "export"
    return export_heterograph(driver, database, out, split=SplitConfig(protocol="topk-801010"), seed=3,
                              progress=False)


def test_gds_is_loaded(driver, database):
    records, _, _ = driver.execute_query("RETURN gds.version() AS version", database_=database)
    assert records[0]["version"] == GDS_VERSION


def test_vectors_for_every_user_and_track_from_the_training_graph(graph_db, database):
    exported = _export(graph_db, database)
    summary = add_fastrp(exported, graph_db, database, CONFIG)
    users, tracks = exported.fastrp["user"], exported.fastrp["track"]
    assert users.shape == (exported.num_users, 16) and tracks.shape == (exported.num_tracks, 16)
    assert bool((users.norm(dim=1) > 0).all()) and bool((tracks.norm(dim=1) > 0).all())
    # the projection holds exactly the exported nodes, training pairs and KG edges (undirected: ×2)
    assert summary["nodes"] == sum(len(ids) for ids in exported.id_maps.values())
    assert summary["relationships"] == 2 * (len(exported.split["train"]) + export_graph.KG_EDGES)
    assert exported.manifest["fastrp"]["dim"] == 16 and exported.manifest["fastrp"]["seed"] == 7

    again = _export(graph_db, database)
    add_fastrp(again, graph_db, database, CONFIG)
    assert torch.equal(again.fastrp["user"], users) and torch.equal(again.fastrp["track"], tracks)
    add_fastrp(again, graph_db, database, FastRPConfig(dim=16, seed=8))
    assert not torch.equal(again.fastrp["track"], tracks)
    records, _, _ = graph_db.execute_query("CALL gds.graph.list() YIELD graphName RETURN count(*) AS n",
                                           database_=database)
    assert records[0]["n"] == 0                                         # projections are dropped


def test_held_out_listens_never_reach_gds(graph_db, database):
    exported = _export(graph_db, database)
    add_fastrp(exported, graph_db, database, CONFIG)
    users, tracks = exported.id_maps["User"], exported.id_maps["Track"]
    held_out = [[users[u], tracks[t]] for part in ("valid", "test") for u, t in exported.split[part]]
    assert held_out
    # remove every held-out listen from Neo4j and add listens the export never saw
    graph_db.execute_query("UNWIND $pairs AS p MATCH (:User {id: p[0]})-[r:LISTENED]->(:Track {id: p[1]}) "
                           "DELETE r", {"pairs": held_out}, database_=database)
    graph_db.execute_query("MATCH (u:User {id: 'u4'}), (t:Track) WHERE NOT (u)-[:LISTENED]->(t) "
                           "CREATE (u)-[:LISTENED]->(t)", database_=database)
    before = {k: v.clone() for k, v in exported.fastrp.items()}
    add_fastrp(exported, graph_db, database, CONFIG)
    assert torch.equal(exported.fastrp["user"], before["user"])
    assert torch.equal(exported.fastrp["track"], before["track"])


def test_same_vectors_from_a_rebuilt_database(graph_db, database):
    """FastRP's random vectors follow the export's numbering, not Neo4j's internal node ids."""
    first = _export(graph_db, database)
    add_fastrp(first, graph_db, database, CONFIG)
    reset_database(graph_db, database)
    apply_schema(graph_db, database)
    graph_db.execute_query("UNWIND range(1, 50) AS i CREATE (:Entity {id: 'filler' + i})",
                           database_=database)                    # shift the internal ids
    export_graph.build(graph_db, database)
    graph_db.execute_query("MATCH (e:Entity) WHERE e.id STARTS WITH 'filler' DELETE e",
                           database_=database)
    again = _export(graph_db, database)
    add_fastrp(again, graph_db, database, CONFIG)
    assert torch.equal(again.fastrp["user"], first.fastrp["user"])
    assert torch.equal(again.fastrp["track"], first.fastrp["track"])


def test_saved_with_the_export_and_read_into_train_data(graph_db, database, tmp_path):
    exported = _export(graph_db, database)
    add_fastrp(exported, graph_db, database, CONFIG)
    exported.save(tmp_path / "e")
    loaded = ExportedGraph.load(tmp_path / "e")
    assert torch.equal(loaded.fastrp["track"], exported.fastrp["track"])
    assert loaded.manifest["fastrp"]["relationships"] == exported.manifest["fastrp"]["relationships"]
    data = TrainData.from_export(loaded)
    assert torch.equal(data.fastrp[0], exported.fastrp["user"])
    exported.fastrp = None
    exported.save(tmp_path / "e")                                   # re-export without --fastrp
    assert not (tmp_path / "e" / "fastrp.pt").exists() and ExportedGraph.load(tmp_path / "e").fastrp is None


def test_model_scores_the_mean_cosine_to_the_training_history():
    data = TrainData.from_export(make_export(n_users=6, n_items=10, seed=1))
    items = torch.randn(10, 4, generator=torch.Generator().manual_seed(0))
    model = FastRP(items, data.n_users, data.train).eval()
    unit = items / items.norm(dim=1, keepdim=True)
    for u in range(data.n_users):
        history = sorted(set(data.train[data.train[:, 0] == u, 1].tolist()))
        expected = (unit @ unit[history].T).mean(1)
        assert torch.allclose(model.score_all(torch.tensor([u]))[0], expected, atol=1e-6)


def test_model_without_fastrp_vectors_says_how_to_export():
    from mmkg.train.config import ModelConfig

    data = TrainData.from_export(make_export(n_users=6, n_items=10))
    with pytest.raises(TrainError, match="--fastrp"):
        build_model(ModelConfig(name="fastrp"), data, np.random.default_rng(0))


@pytest.mark.usefixtures("uri_scheme")
def test_cli_export_fastrp_then_train(graph_db, database, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["export", str(tmp_path / "e"), "--split", "topk-801010", "--split-seed", "1",
                                 "--seed", "4", "--fastrp", "--fastrp-dim", "8"])
    assert result.exit_code == 0, result.output
    assert "fastrp: dim 8" in result.output and (tmp_path / "e" / "fastrp.pt").is_file()
    manifest = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert (manifest["seed"], manifest["fastrp"]["seed"]) == (1, 4)              # two seeds, both recorded
    result = runner.invoke(cli, ["train", "--model", "fastrp", "--export", str(tmp_path / "e"),
                                 "--out", str(tmp_path / "run"), "--seed", "0", "--quiet"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"auc", "recall@20", "ndcg@20"} <= set(metrics["test"]) and metrics["model"] == "fastrp"
