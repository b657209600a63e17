"""A really trained run, published and queried: sample catalog → ingest → export → ``mmkg train``
→ ``mmkg publish`` → ``mmkg recommend``, all through the real CLI (no hand-made run folder)."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.sample_catalog import generate_sample_catalog
from mmkg.train.run_folder import RunFolder

torch.set_num_threads(1)


def mmkg(*args) -> str:
    """Run ``mmkg ARGS``; its stdout (the test fails with the output on a non-zero exit)."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.usefixtures("uri_scheme")
def test_trained_run_is_published_with_its_export_manifest_and_recommends(empty_db, database,
                                                                          tmp_path):
    catalog, export, run = tmp_path / "catalog", tmp_path / "export", tmp_path / "run"
    generate_sample_catalog(catalog, tracks=40, users=12, interactions_per_user=10, media=False)
    mmkg("ingest", catalog, "--no-features")
    mmkg("export", export, "--split-seed", "0")
    mmkg("train", "--out", run, "--export", export, "--set", "epochs=2", "--seed", "0", "--quiet")
    out = mmkg("publish", run)

    folder = RunFolder(run)
    records, _, _ = empty_db.execute_query(
        "MATCH (m:Model {current: true}) RETURN m.id AS id, m.dataset_manifest AS manifest, "
        "m.params AS params, m.metrics AS metrics", database_=database)
    [model] = [r.data() for r in records]
    assert f"model {model['id']} is current" in out
    assert json.loads(model["manifest"]) == json.loads((export / "manifest.json").read_text())
    assert json.loads(model["params"]) == folder.load_config()
    assert json.loads(model["metrics"]) == folder.load_metrics()

    embeddings = folder.load_embeddings()
    records, _, _ = empty_db.execute_query(
        "MATCH (u:User)-[:LISTENED]->(t:Track) RETURN u.id AS user, collect(t.id) AS tracks",
        database_=database)
    listened = {r["user"]: set(r["tracks"]) for r in records}
    for row, user in enumerate(embeddings.user_ids[:3]):
        ranked = sorted(zip(embeddings.topk_items[row].tolist(), embeddings.topk_scores[row].tolist()),
                        key=lambda pair: -pair[1])
        expected = [embeddings.track_ids[i] for i, _ in ranked
                    if i >= 0 and embeddings.track_ids[i] not in listened[user]][:5]
        got = json.loads(mmkg("recommend", user, "--k", "5", "--json"))
        assert [r["trackId"] for r in got] == expected
        assert [r["model"] for r in got] == [model["id"]] * len(got)


@pytest.mark.usefixtures("empty_db")
def test_a_run_retrained_in_its_folder_keeps_nothing_of_the_earlier_one(tmp_path):
    """`mmkg train --out RUN` again: once its new export is in RUN, the earlier run's files are
    gone, even when training then fails; a failed export, or an option refused before it, leaves
    the earlier run whole."""
    catalog, run, other = tmp_path / "catalog", tmp_path / "run", tmp_path / "other"
    generate_sample_catalog(catalog, tracks=40, users=12, interactions_per_user=10, media=False)
    mmkg("ingest", catalog, "--no-features")
    mmkg("train", "--out", run, "--set", "epochs=2", "--refit", "--quiet")
    assert RunFolder(run).has(RunFolder.REFIT_MODEL)
    mmkg("train", "--out", other, "--export", run / "export", "--model", "lightgcn",
         "--set", "epochs=1", "--quiet")
    whole = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    refused = CliRunner().invoke(cli, ["train", "--out", str(run), "--init-from", str(other), "--quiet"])
    assert refused.exit_code == 1, refused.output
    assert "holds another model (lightgcn; this run trains mkgcn)" in refused.output
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == whole  # not exported
    refused = CliRunner().invoke(cli, ["train", "--out", str(other), "--init-from", str(run),
                                       "--workers", "2", "--quiet"])
    assert refused.exit_code == 1 and "--init-from trains in one process" in refused.output
    assert not (other / "export").exists()

    mmkg("train", "--out", other, "--export", run / "export", "--set", "model.dim=16",
         "--set", "epochs=1", "--quiet")
    refused = CliRunner().invoke(cli, ["train", "--out", str(run), "--init-from", str(other), "--quiet"])
    assert refused.exit_code == 1 and "another architecture" in refused.output, refused.output
    assert sorted(p.name for p in run.iterdir()) == ["export"]
    unpublishable = CliRunner().invoke(cli, ["publish", str(run)])
    assert unpublishable.exit_code == 1 and "no embeddings.pt" in unpublishable.output

    mmkg("train", "--out", run, "--set", "epochs=2", "--quiet")
    assert not RunFolder(run).has(RunFolder.REFIT_MODEL)
    assert "refit" not in RunFolder(run).load_metrics()
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    unreachable = CliRunner().invoke(cli, ["--uri", "bolt://127.0.0.1:9", "train", "--out", str(run),
                                           "--quiet"])
    assert unreachable.exit_code == 1 and "no Neo4j answering" in unreachable.output
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_the_commands_train_suggests_are_shell_quoted(empty_db, tmp_path):
    """`train --out "run rel/"` said "`mmkg publish run rel` places them": pasted, that is
    `Directory 'run' does not exist`. Now the path is shell-quoted, and the line pastes."""
    import shlex

    catalog, run = tmp_path / "catalog", tmp_path / "run rel"
    generate_sample_catalog(catalog, tracks=60, users=6, interactions_per_user=6, media=False)
    mmkg("ingest", catalog, "--no-features")
    out = mmkg("train", "--out", f"{run}/", "--set", "epochs=1", "--quiet")
    [line] = [line for line in out.splitlines() if line.startswith("left out: ")]
    suggested = line.split("`")[1]
    assert shlex.split(suggested) == ["mmkg", "publish", str(run)]
    assert "placing them from their content and KG facts" in mmkg(*shlex.split(suggested)[1:])
