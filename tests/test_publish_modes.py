"""One version published in both serving modes (``mmkg publish RUN`` then ``mmkg publish RUN
--serve vectors``, and back): served from vectors it keeps no ``RECOMMENDED``, its mode changes at
the flip only, and every query agrees with ``mmkg recommend`` (``mmkg.recommend.for_user``), also
after a publish that failed half-way and until its re-run completes it."""

from __future__ import annotations

import pytest

from mmkg.errors import DatabaseError
from mmkg.graph import load_query
from mmkg.publish import writer
from mmkg.publish.writer import publish, read_run
from mmkg.recommend import for_user
from tests.conftest import count
from tests.demo_graph import K, N_USERS, build_demo_graph, write_run

USERS = [f"u{j}" for j in range(N_USERS)]


def rows(driver, database, name: str, **params) -> list[dict]:
    records, _, _ = driver.execute_query(load_query(name), params, database_=database)
    return [r.data() for r in records]


def recommended(driver, database, model: str) -> int:
    return count(driver, database, "MATCH ()-[r:RECOMMENDED {model: $m}]->() RETURN count(r) AS n",
                 m=model)


def model_state(driver, database, model: str) -> dict:
    [row] = driver.execute_query(
        "MATCH (m:Model {id: $m}) RETURN m.current AS current, m.serve AS serve, "
        "m.serving_norm IS NOT NULL AS norm, m.holds_recommended AS holds",
        {"m": model}, database_=database).records
    return row.data()


def assert_queries_agree_with_recommend(driver, database, serve: str) -> None:
    """For every demo user: ``mmkg recommend``'s tracks are those of the query of the current
    model's mode; ``recommend.cypher`` (the Browser's top-K query) returns rows only served from
    top-K; the guide's "why recommended" slide shows the first three rows of that mode's query,
    once each, with their ranks (a stored list's place, listened tracks skipped); explain's
    default track is the first of them; the bench's list of every
    recommendation holds the RECOMMENDED of a model served from top-K only."""
    every = rows(driver, database, "published_recommendations")
    assert len(every) == (N_USERS * K if serve == "topk" else 0)
    for user in USERS:
        served = for_user(driver, database, user, k=K)
        assert not served.cold_start
        params = {"userId": user, "k": K, "genre": None, "newOnly": False}
        vectors, topk = rows(driver, database, "recommend_vectors", **params), \
            rows(driver, database, "recommend", **params)
        assert (vectors, bool(topk)) == (([], True) if serve == "topk" else (vectors, False))
        expected = topk if serve == "topk" else vectors
        assert [r["trackId"] for r in served.rows] == [r["trackId"] for r in expected]
        guide = rows(driver, database, "browser/guide_recommended", userId=user)
        assert [r["rank"] for r in guide] == [r["rank"] for r in expected[:3]], (user, guide)
        shown = [r["recommended"][-1]["id"] if serve == "topk" else r["recommended"]["id"]
                 for r in guide]
        assert shown == [r["trackId"] for r in expected[:3]]
        explained = rows(driver, database, "explain", userId=user, likedTrackIds=None,
                         similarTo=None, explainedTrackId=None, limit=5)
        best = expected[0]["trackId"]
        assert {r["trackId"] for r in explained} <= {best}


@pytest.fixture()
def demo(empty_db, database):
    build_demo_graph(empty_db, database)
    return empty_db


def test_a_version_published_again_from_vectors_keeps_no_recommended_and_back(demo, database,
                                                                              tmp_path):
    """The tester's finding: ``publish run`` (top-K), then ``publish run --serve vectors`` (the
    same version, current) left its RECOMMENDED, which ``recommend.cypher`` and the guide served
    beside the vectors. Now they are deleted (after the flip: until then its readers use them),
    and publishing it from top-K again writes them anew."""
    run = write_run(tmp_path / "run", model="bpr")
    model = read_run(run).model_id
    publish(demo, database, run, progress=False)
    assert recommended(demo, database, model) == N_USERS * K
    assert_queries_agree_with_recommend(demo, database, "topk")

    vectors = publish(demo, database, run, progress=False, serve="vectors")
    assert vectors.model_id == model and vectors.recommendations_deleted_after_flip
    assert recommended(demo, database, model) == 0
    assert model_state(demo, database, model) == {"current": True, "serve": "vectors",
                                                  "norm": True, "holds": False}
    assert_queries_agree_with_recommend(demo, database, "vectors")

    topk = publish(demo, database, run, progress=False)
    assert topk.recommendations == N_USERS * K and not topk.recommendations_reused
    assert recommended(demo, database, model) == N_USERS * K
    assert model_state(demo, database, model) == {"current": True, "serve": "topk",
                                                  "norm": False, "holds": True}
    assert_queries_agree_with_recommend(demo, database, "topk")


def failing_deletion(monkeypatch) -> None:
    """Make deleting RECOMMENDED fail once, before it deletes any (a lost connection)."""
    real = writer._in_batches

    def fail_once(driver, database, name, **params):
        if name == "publish_delete_recommendations":
            monkeypatch.setattr(writer, "_in_batches", real)
            raise DatabaseError("Neo4j went away (injected)")
        return real(driver, database, name, **params)

    monkeypatch.setattr(writer, "_in_batches", fail_once)


def test_a_deletion_that_failed_after_the_flip_is_hidden_and_a_rerun_completes_it(
        demo, database, tmp_path, monkeypatch):
    """The current version published again from vectors: the flip commits, then deleting its
    RECOMMENDED fails. The publish says so in one line; the version is current and served from
    vectors, its RECOMMENDED, still there, are read by no query; a re-run deletes them."""
    run = write_run(tmp_path / "run", model="bpr")
    model = publish(demo, database, run, progress=False).model_id
    failing_deletion(monkeypatch)
    with pytest.raises(DatabaseError, match=rf"^model {model} is current, served from vectors, but "
                                            r"deleting its RECOMMENDED of top-K failed: .*injected.*; "
                                            r"re-running the publish completes it$"):
        publish(demo, database, run, progress=False, serve="vectors")
    assert recommended(demo, database, model) == N_USERS * K
    assert model_state(demo, database, model)["serve"] == "vectors"
    assert_queries_agree_with_recommend(demo, database, "vectors")

    again = publish(demo, database, run, progress=False, serve="vectors")
    assert not again.recommendations_deleted_after_flip  # served from vectors: deleted before
    assert recommended(demo, database, model) == 0
    assert model_state(demo, database, model)["holds"] is False
    assert_queries_agree_with_recommend(demo, database, "vectors")


def test_a_retained_version_published_from_vectors_loses_its_recommended_before_the_flip(
        demo, database, tmp_path, monkeypatch):
    """A retained (not current) version served from top-K, published again from vectors: its
    RECOMMENDED go before its flip, so a failure there leaves the current model serving as it
    did, and the re-run completes the version without them."""
    run_a = write_run(tmp_path / "run-a", model="bpr")
    a = publish(demo, database, run_a, progress=False).model_id
    b = publish(demo, database, write_run(tmp_path / "run-b", seed=1, model="bpr"),
                progress=False).model_id
    failing_deletion(monkeypatch)
    with pytest.raises(DatabaseError, match="injected"):
        publish(demo, database, run_a, progress=False, serve="vectors")
    assert model_state(demo, database, b)["current"] and not model_state(demo, database, a)["current"]
    assert {r["model"] for user in USERS for r in for_user(demo, database, user, k=K).rows} == {b}
    assert_queries_agree_with_recommend(demo, database, "topk")

    again = publish(demo, database, run_a, progress=False, serve="vectors")
    assert again.previous_model == b and not again.recommendations_deleted_after_flip
    assert recommended(demo, database, a) == 0
    assert model_state(demo, database, a) == {"current": True, "serve": "vectors", "norm": True,
                                              "holds": False}
    assert_queries_agree_with_recommend(demo, database, "vectors")


def test_the_current_version_published_again_from_top_k_changes_its_mode_at_the_flip(
        demo, database, tmp_path):
    """The current version, served from vectors, published again from top-K fails after writing
    two users' lists: it is still served from vectors (mode, norm), which ``recommend``,
    ``--new-tracks`` (``publish_current_slot``) and every query follow, the partial lists read by
    none; the re-run writes them all and serves them."""
    run = write_run(tmp_path / "run", model="bpr")
    model = publish(demo, database, run, progress=False, serve="vectors").model_id
    batches = []

    def fail_on_third_list(step: str, rows: int) -> None:
        batches.append(step)
        if batches.count("recommendations") == 2:
            raise RuntimeError("injected failure")

    with pytest.raises(RuntimeError, match="injected"):
        publish(demo, database, run, batch_size=1, progress=False, on_step=fail_on_third_list)
    assert recommended(demo, database, model) == 2 * K
    assert model_state(demo, database, model) == {"current": True, "serve": "vectors",
                                                  "norm": True, "holds": True}
    [slot] = rows(demo, database, "publish_current_slot")
    assert slot["serve"] == "vectors" and slot["servingNorm"] is not None
    assert_queries_agree_with_recommend(demo, database, "vectors")

    again = publish(demo, database, run, progress=False)
    assert again.recommendations == N_USERS * K
    assert recommended(demo, database, model) == N_USERS * K
    assert model_state(demo, database, model)["serve"] == "topk"
    assert_queries_agree_with_recommend(demo, database, "topk")
