"""publish (publish/writer.py) against a real Neo4j: what it writes, atomic swaps, failures, pruning.

These tests need exact control of the vectors, so their run folders are written through
:class:`RunFolder` by ``tests/demo_graph.py``; ``tests/test_fit_publish.py`` publishes a really
trained run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
import torch

from mmkg.errors import DatabaseError, PublishError, RunFolderError
from mmkg.graph import load_query
from mmkg.schema import LEGACY_VECTOR_PROPERTIES, VECTOR_SLOTS, Label
from mmkg.publish.writer import (RecommendationBatches, prune, publish, read_run,
                                vector_index_dimensions)
from mmkg.train.run_folder import Embeddings, RunFolder
from tests.conftest import ROOT, count
from tests.demo_graph import K, N_TRACKS, N_USERS, build_demo_graph, track_id, write_run


def current_model(driver, database: str) -> str | None:
    records, _, _ = driver.execute_query("MATCH (m:Model {current: true}) RETURN m.id AS id",
                                         database_=database)
    assert len(records) <= 1
    return records[0]["id"] if records else None


def served_models(driver, database: str) -> set[str]:
    """Models whose rows recommend.cypher returns for every demo user."""
    models = set()
    for j in range(N_USERS):
        records, _, _ = driver.execute_query(load_query("recommend"),
                                             {"userId": f"u{j}", "k": 10, "genre": None, "newOnly": False},
                                             database_=database)
        assert records, f"u{j} got no recommendations"
        models |= {r["model"] for r in records}
    return models


def embedding_dims(driver, database: str) -> set[int]:
    """Sizes of the vectors readers see: those of the current model's vector slot."""
    records, _, _ = driver.execute_query(
        "MATCH (m:Model {current: true}) MATCH (n:Track|User) WHERE n[m.vector_property] IS NOT NULL "
        "RETURN DISTINCT size(n[m.vector_property]) AS d", database_=database)
    return {r["d"] for r in records}


def current_vector(driver, database: str, track: str) -> torch.Tensor:
    [row] = driver.execute_query(load_query("current_vectors"), {"ids": [track]},
                                 database_=database).records
    return torch.tensor(row["vector"])


def slot_of(driver, database: str, model: str) -> str | None:
    """The vector property a Model names (only the current one names one)."""
    records, _, _ = driver.execute_query("MATCH (m:Model {id: $m}) RETURN m.vector_property AS p",
                                         {"m": model}, database_=database)
    return records[0]["p"]


def vectors_in(driver, database: str, prop: str) -> int:
    return count(driver, database, f"MATCH (n:Track|User) WHERE n.`{prop}` IS NOT NULL "
                 "RETURN count(n) AS n")


def index_names(dimension: int, prop: str | None = None, *, users: bool = False) -> dict[str, int]:
    """``{index: dimension}`` of the vector indexes of the slot holding ``prop`` (default: a):
    its Track index, and its User index when ``users`` (``publish(user_index=True)``)."""
    slot = next(s for s in VECTOR_SLOTS if prop in (None, s.prop.value))
    return {name: dimension for label, name in slot.indexes.items() if users or label != Label.USER}


@pytest.fixture()
def demo(empty_db, database):
    build_demo_graph(empty_db, database)
    return empty_db


def test_publish_writes_embeddings_recommendations_model_and_indexes(demo, database, tmp_path):
    run = write_run(tmp_path / "run-a", dim=4)
    summary = publish(demo, database, run, progress=False)

    assert summary.model_id == read_run(run).model_id
    assert (summary.tracks, summary.users, summary.recommendations) == (N_TRACKS, N_USERS, N_USERS * K)
    slot = VECTOR_SLOTS[0]
    assert summary.vector_slot == slot.name
    assert summary.indexes_created == [slot.indexes[Label.TRACK]]  # no User index unless asked
    records, _, _ = demo.execute_query(
        "MATCH (m:Model) RETURN m.id AS id, m.current AS current, m.complete AS complete, "
        "m.params AS params, m.metrics AS metrics, m.dataset_manifest AS manifest, "
        "m.created_at IS NOT NULL AS dated", database_=database)
    [m] = [r.data() for r in records]
    assert m["current"] and m["complete"] and m["dated"]
    assert slot_of(demo, database, m["id"]) == slot.prop
    assert json.loads(m["params"]) == {"dim": 4, "seed": 0}
    assert json.loads(m["metrics"])["test"]["auc"] == 0.5
    assert json.loads(m["manifest"])["seed"] == 0
    # the model's kind and test scores as readable properties; none for what metrics.json lacks
    [readable] = demo.execute_query(
        "MATCH (m:Model) RETURN m {.model_type, .test_auc, .test_f1, .test_recall_at_20, .test_ndcg_at_20} AS r",
        database_=database).records
    assert readable["r"] == {"model_type": None, "test_auc": 0.5, "test_f1": None,
                             "test_recall_at_20": None, "test_ndcg_at_20": None}
    assert embedding_dims(demo, database) == {4}
    assert vectors_in(demo, database, slot.prop) == N_TRACKS + N_USERS
    assert vectors_in(demo, database, VECTOR_SLOTS[1].prop) == 0
    assert vector_index_dimensions(demo, database) == index_names(4)
    # the stored vectors and ranks are exactly the run's
    blob = torch.load(run / RunFolder.EMBEDDINGS, weights_only=True)
    assert torch.allclose(current_vector(demo, database, "t3"), blob["track"][3])
    records, _, _ = demo.execute_query(
        "MATCH (:User {id: 'u1'})-[r:RECOMMENDED]->(t) RETURN t.id AS t, r.rank AS rank, r.score AS s "
        "ORDER BY rank", database_=database)
    assert [r["t"] for r in records] == [track_id(i) for i in blob["topk"]["items"][1].tolist()]
    assert [r["rank"] for r in records] == list(range(1, K + 1))


def test_the_user_vector_index_is_built_only_when_asked(demo, database, tmp_path):
    """No mmkg query reads a User vector index (users are looked up by id): publish builds it
    with ``user_index=True`` (``--user-index``) only, and the Model names it only then."""
    def user_index_of_current() -> str | None:
        [row] = demo.execute_query("MATCH (m:Model {current: true}) RETURN m.user_index AS i",
                                   database_=database).records
        return row["i"]

    publish(demo, database, write_run(tmp_path / "run-a", dim=4), progress=False)
    assert vector_index_dimensions(demo, database) == index_names(4)
    assert user_index_of_current() is None
    with_users = publish(demo, database, write_run(tmp_path / "run-b", dim=4, seed=1),
                         progress=False, user_index=True)
    assert with_users.indexes_created == list(VECTOR_SLOTS[1].indexes.values())
    assert vector_index_dimensions(demo, database) == {
        **index_names(4), **index_names(4, "embedding_b", users=True)}
    assert user_index_of_current() == VECTOR_SLOTS[1].indexes[Label.USER]
    # the next publish into slot b without it drops the index with the slot's old vectors
    publish(demo, database, write_run(tmp_path / "run-c", dim=4, seed=2), progress=False)
    publish(demo, database, write_run(tmp_path / "run-d", dim=4, seed=3), progress=False)
    assert vector_index_dimensions(demo, database) == {**index_names(4), **index_names(4, "embedding_b")}
    assert user_index_of_current() is None


def test_a_rewritten_slot_keeps_no_vector_the_run_does_not_overwrite(demo, database, tmp_path):
    """Publish overwrites the slot's vectors in place instead of clearing the slot first, so it
    must remove what the run does not overwrite: vectors of nodes absent from the run, and the
    serving vectors of a model served from vectors when the slot's new model is served from
    top-K."""
    publish(demo, database, write_run(tmp_path / "run-a", model="bpr"), progress=False, serve="vectors")
    publish(demo, database, write_run(tmp_path / "run-b", seed=1), progress=False)
    run_c = write_run(tmp_path / "run-c", seed=2)
    folder = RunFolder(run_c)
    emb = folder.load_embeddings()
    track, user = emb.track[1:], emb.user[1:]  # a run without track 0 and user u0
    scores, items = torch.topk(user @ track.T, K, dim=1)
    folder.save_embeddings(Embeddings(track_ids=emb.track_ids[1:], user_ids=emb.user_ids[1:],
                                      track=track, user=user, topk_items=items, topk_scores=scores))
    c = publish(demo, database, run_c, progress=False)
    slot = VECTOR_SLOTS[0]
    assert c.vector_slot == slot.name
    assert vectors_in(demo, database, slot.serving.value) == 0
    assert vectors_in(demo, database, slot.prop) == N_TRACKS - 1 + N_USERS - 1
    assert count(demo, database, f"MATCH (n:Track|User) WHERE n.id IN ['{track_id(0)}', 'u0'] "
                 f"AND n.`{slot.prop}` IS NOT NULL RETURN count(n) AS n") == 0


def test_recommendation_batches_are_parallel_lists_in_rank_order_without_padding():
    nan = float("nan")
    emb = Embeddings(track_ids=["a", "b", "c"], user_ids=["u0", "u1", "u2"],
                     track=torch.zeros(3, 2), user=torch.zeros(3, 2),
                     topk_items=torch.tensor([[1, 2, 0], [2, -1, 0], [0, 1, -1]]),
                     topk_scores=torch.tensor([[0.5, 0.9, 0.1], [0.7, 0.0, nan], [0.3, 0.2, 0.0]]))
    batches = RecommendationBatches(emb, batch_size=2)
    assert [(b.rows, b.params) for b in batches] == [
        (2, {"users": ["u0", "u1"], "tracks": [["c", "b", "a"], ["c"]],
             "scores": [[pytest.approx(0.9), pytest.approx(0.5), pytest.approx(0.1)],
                        [pytest.approx(0.7)]]}),
        (1, {"users": ["u2"], "tracks": [["a", "b"]],
             "scores": [[pytest.approx(0.3), pytest.approx(0.2)]]}),
    ]
    assert batches.recommendations == 6


def test_readers_see_previous_model_until_the_flip(demo, database, tmp_path):
    a = publish(demo, database, write_run(tmp_path / "run-a", dim=4), progress=False)
    run_b = write_run(tmp_path / "run-b", dim=8, seed=1)
    batch_done, go_on = threading.Event(), threading.Event()
    seen_steps: list[str] = []

    def pause(step: str, rows: int) -> None:
        seen_steps.append(step)
        batch_done.set()
        assert go_on.wait(30)
        go_on.clear()

    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(
        summary=publish(demo, database, run_b, batch_size=1, progress=False, on_step=pause)))
    worker.start()
    reads = 0
    while worker.is_alive() or batch_done.is_set():
        if batch_done.wait(0.2):
            batch_done.clear()
            assert served_models(demo, database) == {a.model_id}
            assert embedding_dims(demo, database) == {4}
            assert current_model(demo, database) == a.model_id
            reads += 1
            go_on.set()
    worker.join()
    b = result["summary"]
    assert reads == len(seen_steps) == N_USERS + N_TRACKS + N_USERS
    assert served_models(demo, database) == {b.model_id}
    assert embedding_dims(demo, database) == {8}
    assert vector_index_dimensions(demo, database) == {**index_names(4), **index_names(8, "embedding_b")}
    assert b.previous_model == a.model_id
    assert (a.vector_slot, b.vector_slot) == ("a", "b")
    assert (slot_of(demo, database, a.model_id), slot_of(demo, database, b.model_id)) == \
        (None, "embedding_b")


@pytest.mark.parametrize("failing_step", ["track_embeddings", "recommendations"])
def test_failure_midway_keeps_previous_results_and_a_rerun_completes(demo, database, tmp_path,
                                                                     failing_step):
    a = publish(demo, database, write_run(tmp_path / "run-a"), progress=False)
    run_b = write_run(tmp_path / "run-b", seed=2)
    batches = []

    def fail_on_second_batch(step: str, rows: int) -> None:
        batches.append(step)
        if batches.count(failing_step) == 2:
            raise RuntimeError("injected failure")

    with pytest.raises(RuntimeError, match="injected"):
        publish(demo, database, run_b, batch_size=1, progress=False, on_step=fail_on_second_batch)
    assert current_model(demo, database) == a.model_id
    assert served_models(demo, database) == {a.model_id}
    blob_a = torch.load(tmp_path / "run-a" / RunFolder.EMBEDDINGS, weights_only=True)
    assert torch.allclose(current_vector(demo, database, "t0"), blob_a["track"][0])

    b = publish(demo, database, run_b, progress=False)
    assert current_model(demo, database) == b.model_id
    assert count(demo, database, "MATCH ()-[r:RECOMMENDED {model: $m}]->() RETURN count(r) AS n",
                 m=b.model_id) == N_USERS * K
    blob_b = torch.load(run_b / RunFolder.EMBEDDINGS, weights_only=True)
    assert torch.allclose(current_vector(demo, database, "t0"), blob_b["track"][0])
    assert vectors_in(demo, database, "embedding_b") == N_TRACKS + N_USERS


KILLER = """
import os, signal, sys
from pathlib import Path
from mmkg.config import load_settings
from mmkg.graph import connect
from mmkg.publish.writer import publish
settings = load_settings()
seen = []
def kill_after_two_recommendation_batches(step, rows):
    seen.append(step)
    if seen.count("recommendations") == 2:
        os.kill(os.getpid(), signal.SIGKILL)
publish(connect(settings), settings.neo4j.database, Path(sys.argv[1]), batch_size=1,
        progress=False, on_step=kill_after_two_recommendation_batches)
"""


@pytest.mark.usefixtures("uri_scheme")
def test_sigkilled_publish_leaves_previous_model_and_cli_rerun_completes(demo, database, tmp_path):
    a = publish(demo, database, write_run(tmp_path / "run-a"), progress=False)
    run_b = write_run(tmp_path / "run-b", seed=3)
    done = subprocess.run([sys.executable, "-c", KILLER, str(run_b)], cwd=ROOT, env=os.environ,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    b_id = read_run(run_b).model_id
    assert count(demo, database, "MATCH ()-[r:RECOMMENDED {model: $m}]->() RETURN count(r) AS n",
                 m=b_id) == 2 * K  # two committed batches of one user each
    assert served_models(demo, database) == {a.model_id}

    from click.testing import CliRunner
    from mmkg.cli import cli

    out = CliRunner().invoke(cli, ["publish", str(run_b), "--keep", "0"])
    assert out.exit_code == 0, out.output
    assert f"model {b_id} is current" in out.output
    assert served_models(demo, database) == {b_id}
    assert count(demo, database, "MATCH ()-[r:RECOMMENDED]->() RETURN count(r) AS n") == N_USERS * K
    assert count(demo, database, "MATCH (m:Model) RETURN count(m) AS n") == 1


@pytest.mark.usefixtures("uri_scheme")
def test_recommended_track_missing_from_the_graph_is_skipped_and_counted(demo, database, tmp_path):
    """A run whose top-K names a track the graph no longer holds: its vector and every
    recommendation of it are skipped, counted and reported; the others keep their ranks."""
    from click.testing import CliRunner
    from mmkg.cli import cli

    run = write_run(tmp_path / "run-a")
    items = torch.load(run / RunFolder.EMBEDDINGS, weights_only=True)["topk"]["items"]
    ghost = int(items[0, 0])  # u0's best track
    demo.execute_query("MATCH (t:Track {id: $id}) DETACH DELETE t", {"id": track_id(ghost)},
                       database_=database)
    naming_it = int((items == ghost).sum())

    out = CliRunner().invoke(cli, ["publish", str(run)])
    assert out.exit_code == 0, out.output
    assert f"{N_USERS * K - naming_it} recommendations" in out.output
    assert f"skipped 1 track(s), 0 user(s) and {naming_it} recommendation(s) naming them" in out.output
    assert "phases: vectors " in out.output and ", prune " in out.output
    assert count(demo, database, "MATCH ()-[r:RECOMMENDED]->() RETURN count(r) AS n") == \
        N_USERS * K - naming_it
    records, _, _ = demo.execute_query(
        "MATCH (:User {id: 'u0'})-[r:RECOMMENDED]->(t) RETURN t.id AS t, r.rank AS rank ORDER BY rank",
        database_=database)
    assert [r["rank"] for r in records] == list(range(2, K + 1))
    assert [r["t"] for r in records] == [track_id(i) for i in items[0, 1:].tolist()]


def test_keep_prunes_old_versions_and_their_recommendations(demo, database, tmp_path):
    ids = [publish(demo, database, write_run(tmp_path / f"run-{s}", seed=s), keep=1,
                   progress=False).model_id for s in range(4)]
    records, _, _ = demo.execute_query("MATCH (m:Model) RETURN m.id AS id, m.current AS current",
                                       database_=database)
    assert {r["id"]: r["current"] for r in records} == {ids[2]: False, ids[3]: True}
    records, _, _ = demo.execute_query(
        "MATCH ()-[r:RECOMMENDED]->() RETURN r.model AS m, count(*) AS n", database_=database)
    assert {r["m"]: r["n"] for r in records} == {ids[2]: N_USERS * K, ids[3]: N_USERS * K}


def test_republishing_a_retained_version_makes_it_current_again(demo, database, tmp_path):
    run_a = write_run(tmp_path / "run-a", dim=4)
    a = publish(demo, database, run_a, progress=False)
    publish(demo, database, write_run(tmp_path / "run-b", dim=8, seed=1), progress=False)
    again = publish(demo, database, run_a, progress=False)
    assert again.model_id == a.model_id and again.recommendations_reused
    assert served_models(demo, database) == {a.model_id}
    assert embedding_dims(demo, database) == {4}
    assert again.vector_slot == "a"  # b held run-b's vectors; a was rewritten, its d=4 index kept
    assert vector_index_dimensions(demo, database) == {**index_names(4), **index_names(8, "embedding_b")}


def test_inconsistent_run_folder_is_refused_before_writing(demo, database, tmp_path):
    run = write_run(tmp_path / "run-bad")
    blob = torch.load(run / RunFolder.EMBEDDINGS, weights_only=True)
    blob["user"] = blob["user"][:, :3]
    torch.save(blob, run / RunFolder.EMBEDDINGS)
    with pytest.raises(RunFolderError, match="user is"):
        publish(demo, database, run, progress=False)
    with pytest.raises(RunFolderError, match="no embeddings.pt"):
        publish(demo, database, tmp_path, progress=False)
    assert count(demo, database, "MATCH (m:Model) RETURN count(m) AS n") == 0


def test_run_of_another_graph_is_refused_before_the_flip(empty_db, database, tmp_path):
    with pytest.raises(PublishError, match="none of its"):
        publish(empty_db, database, write_run(tmp_path / "run-a"), progress=False)
    assert count(empty_db, database, "MATCH (m:Model) RETURN count(m) AS n") == 0


def test_prune_words_neo4j_errors(driver):
    with pytest.raises(DatabaseError, match="nosuchdb"):
        prune(driver, "nosuchdb", keep=1)


def test_the_flip_writes_only_the_model_nodes(demo, database, tmp_path):
    """The flip moves ``Model.current`` and names the new vector slot; it copies no vector, so
    its transaction does not grow with the graph (copying 700k vectors in it ran a 3 GB heap
    out of memory at 10M listens)."""
    a = publish(demo, database, write_run(tmp_path / "run-a"), progress=False)
    demo.execute_query("CREATE (:Model {id: 'b', complete: true, current: false})",
                       database_=database)
    summary = demo.execute_query(load_query("publish_flip"),
                                 {"model": "b", "serve": "topk", "servingNorm": None,
                                  **VECTOR_SLOTS[1].model_properties(False, False)},
                                 database_=database).summary
    # old Model: current and its three slot names removed; new: current, published_at, serve,
    # 3 names, and the serving norm and 2 serving names (null: served from top-K; Neo4j counts a
    # null written over an absent property on some runs and not on others): a constant,
    # whatever the graph's size
    assert 10 <= summary.counters.properties_set <= 13 and summary.counters.nodes_created == 0
    assert current_model(demo, database) == "b" and slot_of(demo, database, a.model_id) is None


def test_vectors_of_mmkg_before_vector_slots_are_removed_once(demo, database, tmp_path):
    """A database published by an older mmkg holds ``embedding`` / ``embedding_next`` and the
    ``track_embedding`` / ``user_embedding`` indexes: the first publish removes them."""
    demo.execute_query("MATCH (n:Track|User) SET n.embedding = [1.0, 0.0], n.embedding_next = [0.0, 1.0]",
                       database_=database)
    for label, name in (("Track", "track_embedding"), ("User", "user_embedding")):
        demo.execute_query(f"CREATE VECTOR INDEX {name} FOR (n:{label}) ON n.embedding OPTIONS "
                           "{indexConfig: {`vector.dimensions`: 2, `vector.similarity_function`: 'cosine'}}",
                           database_=database)
    publish(demo, database, write_run(tmp_path / "run-a", dim=4), progress=False)
    for prop in LEGACY_VECTOR_PROPERTIES:
        assert vectors_in(demo, database, prop) == 0
    assert vector_index_dimensions(demo, database) == index_names(4)
    assert embedding_dims(demo, database) == {4}


def test_a_run_with_non_finite_vectors_is_refused_and_the_current_model_keeps_serving(
        demo, database, tmp_path):
    good = publish(demo, database, write_run(tmp_path / "good"), progress=False)
    diverged = write_run(tmp_path / "diverged", seed=1)
    run = RunFolder(diverged)
    emb = run.load_embeddings()
    emb.user[3] = float("nan")
    emb.track[0, 1] = float("inf")
    run.save_embeddings(emb)
    with pytest.raises(PublishError, match=r"holds 1 of \d+ track vectors that are not finite "
                                           r"\(a diverged training\): nothing was published"):
        publish(demo, database, diverged, progress=False)
    records, _, _ = demo.execute_query("MATCH (m:Model) RETURN m.id AS id, m.current AS current",
                                       database_=database)
    assert [(r["id"], r["current"]) for r in records] == [(good.model_id, True)]


def test_recommend_names_the_model_whose_rows_it_returns_while_models_flip(demo, database,
                                                                           tmp_path):
    """Issue 21, finding 9: a reader during flips. The flips run ``publish_flip.cypher`` (the
    publish's own swap) back and forth between two published versions as fast as Neo4j
    commits them, while the reader recommends; every answer must name the model whose
    ``RECOMMENDED`` rows it returns."""
    from mmkg.graph import write_rows
    from mmkg.recommend import for_user

    a = publish(demo, database, write_run(tmp_path / "run-a", dim=4), progress=False)
    b = publish(demo, database, write_run(tmp_path / "run-b", dim=8, seed=1), progress=False)
    versions = [(a.model_id, VECTOR_SLOTS[0]), (b.model_id, VECTOR_SLOTS[1])]
    reading = threading.Event()
    flips = [0]

    def flip_back_and_forth() -> None:
        while not reading.is_set():
            model, slot = versions[flips[0] % 2]
            write_rows(demo, database, load_query("publish_flip"), model=model, serve="topk",
                       servingNorm=None, **slot.model_properties(False, False))
            flips[0] += 1

    flipper = threading.Thread(target=flip_back_and_forth)
    flipper.start()
    mismatches, answers = [], 0
    try:
        for i in range(400):
            result = for_user(demo, database, f"u{i % N_USERS}", k=K)
            answers += 1
            mismatches += [(result.model, row["model"]) for row in result.rows
                           if row["model"] != result.model][:1]
    finally:
        reading.set()
        flipper.join()
    assert flips[0] > 10  # the reads really overlapped many flips
    assert mismatches == [], f"{len(mismatches)} of {answers} answers named another model"


def test_new_tracks_refuses_the_options_only_a_publish_applies(demo, database, tmp_path):
    """``--new-tracks`` places tracks in the current model as it was published: ``--serve``
    (even ``topk``, the default's value) and ``--user-index`` with it are refused in one line
    naming them, as ``--trained-only`` is, and the model is left as it was."""
    from click.testing import CliRunner
    from mmkg.cli import cli

    run = write_run(tmp_path / "run-a", model="bpr")
    model = publish(demo, database, run, progress=False).model_id
    for options, named in ((["--serve", "vectors"], " --serve cannot apply"),
                           (["--serve", "topk"], " --serve cannot apply"),
                           (["--user-index"], " --user-index cannot apply"),
                           (["--user-index", "--serve", "vectors"],
                            " --serve and --user-index cannot apply: give them without")):
        out = CliRunner().invoke(cli, ["publish", str(run), "--new-tracks", *options])
        assert out.exit_code == 2, out.output
        [line] = out.output.strip().splitlines()
        assert line.startswith("Error: --new-tracks places new tracks in the current model"), line
        assert named in line, line
    [row] = demo.execute_query("MATCH (m:Model) RETURN m.id AS id, m.current AS current, "
                               "m.serve AS serve, m.user_index AS userIndex", database_=database).records
    assert row.data() == {"id": model, "current": True, "serve": "topk", "userIndex": None}


def test_a_publish_that_reuses_its_lists_reports_no_count_or_rate_of_them(demo, database, tmp_path):
    """A re-run of a complete version writes its vectors again but reuses its ``RECOMMENDED``:
    its line says so, without a "0 recommendations" nor a rows/s rate over a time spent mostly
    calibrating and indexing; a publish that writes the lists reports both."""
    from click.testing import CliRunner
    from mmkg.cli import cli

    run = write_run(tmp_path / "run-a")
    first = CliRunner().invoke(cli, ["publish", str(run)])
    assert first.exit_code == 0, first.output
    assert re.search(rf": {N_USERS * K} recommendations, {N_TRACKS} track and {N_USERS} user "
                     r"vectors \(d=4\) in [\d.]+ s \([\d,]+ rows/s\)\n", first.output), first.output
    again = CliRunner().invoke(cli, ["publish", str(run)])
    assert again.exit_code == 0, again.output
    [line] = [x for x in again.output.splitlines() if x.startswith("model ")]
    assert re.fullmatch(r"model \S+ is current, served from topk \(recommendations already written\): "
                        rf"{N_TRACKS} track and {N_USERS} user vectors \(d=4\) in [\d.]+ s", line), line


def test_publish_names_the_current_model_it_replaces(demo, database, tmp_path):
    """An older run published over a newer one (a rollback, perhaps by accident) says which model
    it replaced and since when that one was current; a first publish, and a publish of the current
    version again, replace none and say nothing of it."""
    from click.testing import CliRunner
    from mmkg.cli import cli

    def published(run) -> list[str]:
        out = CliRunner().invoke(cli, ["publish", str(run)])
        assert out.exit_code == 0, out.output
        return [line for line in out.output.splitlines() if line.startswith("replacing ")]

    def current_since() -> str:
        [row] = demo.execute_query("MATCH (m:Model {current: true}) RETURN m.published_at AS t",
                                   database_=database).records
        return f"{row['t'].to_native():%Y-%m-%d %H:%M:%S %Z}"

    run_a, run_b = write_run(tmp_path / "run-a"), write_run(tmp_path / "run-b", seed=1)
    a, b = read_run(run_a).model_id, read_run(run_b).model_id
    assert published(run_a) == []
    since = current_since()
    assert published(run_b) == [f"replacing model {a} (current since {since})"]
    since = current_since()
    assert published(run_a) == [f"replacing model {b} (current since {since})"]  # the rollback
    assert published(run_a) == []


def test_ctrl_c_in_publish_says_that_the_same_command_completes_it(empty_db, tmp_path, monkeypatch):
    """Ctrl-C printed a bare `Aborted!`: publish releases its lock and a re-run writes the
    version afresh, so it says so (exit 130); a command not known to be safe to re-run keeps
    click's `Aborted!`."""
    from click.testing import CliRunner

    from mmkg.cli import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    run = write_run(tmp_path / "run")
    monkeypatch.setattr("mmkg.publish.writer.publish", interrupted)
    result = CliRunner().invoke(cli, ["publish", str(run)])
    assert (result.exit_code, result.output.strip().splitlines()) == (
        130, ["Error: interrupted: re-running the same command completes it"])
    monkeypatch.setattr("mmkg.sample_catalog.generate_sample_catalog", interrupted)
    result = CliRunner().invoke(cli, ["sample-catalog", str(tmp_path / "catalog")])
    assert (result.exit_code, result.output.strip().splitlines()[-1]) == (1, "Aborted!")
