"""Serving from vectors (``mmkg publish --serve vectors``): publish writes vectors and a track
serving index, no ``RECOMMENDED``; ``recommend`` ranks at query time through
``cypher/recommend_vectors.cypher``, with explanations; the mode is the current Model's."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.errors import NotFoundError, PublishError
from mmkg.graph import load_query
from mmkg.publish.writer import publish, serving_vectors
from mmkg.recommend import for_liked_tracks, for_user
from mmkg.train.run_folder import RunFolder
from tests.demo_graph import build_demo_graph, listened_pairs, track_id, write_run


def rows(driver, database, name, **params) -> list[dict]:
    records, _, _ = driver.execute_query(load_query(name), params, database_=database)
    return [r.data() for r in records]


def one(driver, database, query: str, **params):
    return driver.execute_query(query, params, database_=database).records[0][0]


@pytest.fixture(scope="module")
def served(driver, database, tmp_path_factory):
    """The demo graph with a dot-product run published from vectors; its embeddings."""
    from mmkg.graph.schema import apply_schema, reset_database

    reset_database(driver, database)
    apply_schema(driver, database)
    build_demo_graph(driver, database)
    run = write_run(tmp_path_factory.mktemp("runs") / "run-v", model="bpr")
    summary = publish(driver, database, run, progress=False, serve="vectors")
    return summary, torch.load(run / RunFolder.EMBEDDINGS, weights_only=True)


def exact_ranking(emb: dict, user: int) -> list[tuple[str, float]]:
    """(track id, sigmoid(u · t)) of every track the user did not listen to, best first."""
    heard = {t for u, t in listened_pairs() if u == f"u{user}"}
    dots = (emb["user"][user] @ emb["track"].T).numpy()
    return [(track_id(i), float(1 / (1 + np.exp(-dots[i])))) for i in np.argsort(-dots)
            if track_id(i) not in heard]


def test_serving_vectors_order_tracks_by_dot_product():
    g = torch.Generator().manual_seed(1)
    track = torch.randn(300, 8, generator=g) * torch.rand(300, 1, generator=g) * 3
    users = torch.randn(20, 8, generator=g)
    mapped, m = serving_vectors(track)
    assert m == pytest.approx(float(track.norm(dim=1).max()), rel=1e-6)
    assert torch.allclose(mapped.norm(dim=1), torch.ones(300), atol=1e-5)
    query = torch.cat([users, torch.zeros(20, 1)], dim=1)
    cosine = (query / query.norm(dim=1, keepdim=True)) @ mapped.T
    assert torch.allclose(cosine * users.norm(dim=1, keepdim=True) * m, users @ track.T, atol=1e-4)


def test_publish_from_vectors_writes_no_recommended_and_records_the_mode(served, driver, database):
    summary, emb = served
    assert summary.serve == "vectors" and summary.recommendations == 0
    assert one(driver, database, "MATCH ()-[r:RECOMMENDED]->() RETURN count(r)") == 0
    model = one(driver, database, "MATCH (m:Model {current: true}) RETURN m")
    assert model["serve"] == "vectors" and model["complete"]
    assert model["serving_norm"] == pytest.approx(float(emb["track"].norm(dim=1).max()), rel=1e-6)
    dims = {r["name"]: r["options"]["indexConfig"]["vector.dimensions"]
            for r in rows(driver, database, "publish_vector_indexes")}
    assert dims[model["serving_index"]] == emb["track"].shape[1] + 1


def test_recommend_vectors_ranks_by_the_dot_product_without_listened_tracks(served, driver, database):
    _, emb = served
    for user in range(4):
        expected = exact_ranking(emb, user)
        got = rows(driver, database, "recommend_vectors", userId=f"u{user}", k=5, genre=None,
                   newOnly=False)
        assert [r["trackId"] for r in got] == [t for t, _ in expected[:5]]
        assert [r["rank"] for r in got] == [1, 2, 3, 4, 5]
        assert np.allclose([r["score"] for r in got], [s for _, s in expected[:5]], atol=1e-3)
        assert all(r["artist"] and r["title"] for r in got)
    plan = driver.execute_query("EXPLAIN " + load_query("recommend_vectors"),
                                {"userId": "u0", "k": 3, "genre": None, "newOnly": False},
                                database_=database)[1].plan
    assert "db.index.vector.queryNodes" in json.dumps(plan)


def test_recommend_vectors_genre_filter_keeps_model_ranks(served, driver, database):
    _, emb = served
    ranked = [t for t, _ in exact_ranking(emb, 1)]
    got = rows(driver, database, "recommend_vectors", userId="u1", k=10, genre="rock", newOnly=False)
    assert [r["trackId"] for r in got] == [t for t in ranked if int(t[1:]) % 2 == 0]
    assert rows(driver, database, "recommend_vectors", userId="u1", k=10, genre="ROCK",
                newOnly=False) == got  # a name in any case
    assert [r["rank"] for r in got] == [ranked.index(r["trackId"]) + 1 for r in got]


def test_for_user_reads_the_mode_of_the_current_model_and_explains(served, driver, database):
    _, emb = served
    result = for_user(driver, database, "u0", k=4, explain=True)
    assert [r["trackId"] for r in result.rows] == [t for t, _ in exact_ranking(emb, 0)[:4]]
    assert all(r["reasons"] for r in result.rows)  # rock tracks share the genre of u0's listens
    assert not result.cold_start
    late = for_user(driver, database, "u-late", k=3)  # newer than the model: cold start
    assert late.cold_start and late.rows


def test_a_cold_start_with_new_only_ranks_the_new_releases_by_cosine_exactly(served, driver, database):
    """`recommend u-late --new` (a user newer than the model, who played t0) and `recommend --like
    t8 --new`: only the tracks nobody has listened to (t8..t11), each compared with the mean
    vector exactly; none left gets the one-line error."""
    _, emb = served
    tracks = emb["track"] / emb["track"].norm(dim=1, keepdim=True)

    def nearest(liked: list[int], k: int) -> list[tuple[str, float]]:
        centre = emb["track"][liked].mean(dim=0)
        cos = (tracks @ (centre / centre.norm())).tolist()
        new = sorted((i for i in range(8, 12) if i not in liked), key=lambda i: -cos[i])[:k]
        return [(track_id(i), (1 + cos[i]) / 2) for i in new]

    late = for_user(driver, database, "u-late", k=3, new_only=True)
    assert late.cold_start
    assert [(r["trackId"], r["score"]) for r in late.rows] == [
        (t, pytest.approx(s, abs=1e-5)) for t, s in nearest([0], 3)]
    liked = for_liked_tracks(driver, database, ["t8"], k=10, new_only=True).rows
    assert [r["trackId"] for r in liked] == [t for t, _ in nearest([8], 10)]
    assert [r["rank"] for r in liked] == [1, 2, 3]
    with pytest.raises(NotFoundError, match="no new release .* `mmkg publish RUN --new-tracks`"):
        for_liked_tracks(driver, database, ["t8", "t9", "t10", "t11"], new_only=True)


@pytest.mark.usefixtures("uri_scheme")
def test_cli_recommend_served_from_vectors(served):
    summary, emb = served
    out = CliRunner().invoke(cli, ["recommend", "u2", "--k", "3", "--explain", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert [r["trackId"] for r in got] == [t for t, _ in exact_ranking(emb, 2)[:3]]
    assert [r["score"] for r in got] == [pytest.approx(s, abs=1e-5) for _, s in exact_ranking(emb, 2)[:3]]
    assert all(r["reasons"] for r in got)
    assert {(r["model"], r["method"], r["scoreKind"]) for r in got} == {(summary.model_id, "vectors", "sigmoid")}


def test_explain_without_a_track_explains_the_best_track_served_from_vectors(served, driver, database):
    """explain.cypher's default track (``$explainedTrackId`` null) is the user's first
    recommendation in vectors mode too, where no RECOMMENDED exists."""
    _, emb = served
    best = exact_ranking(emb, 0)[0][0]
    got = rows(driver, database, "explain", userId="u0", likedTrackIds=None, similarTo=None, explainedTrackId=None,
               limit=5)
    assert got and {r["trackId"] for r in got} == {best}
    named = rows(driver, database, "explain", userId="u0", likedTrackIds=None, similarTo=None, explainedTrackId=best,
                 limit=5)
    assert got == named


def test_browser_why_recommended_draws_the_top_three_served_from_vectors(served, driver, database):
    """The guide's "Why a track was recommended" picture in vectors mode: the user's best three
    by dot product, ranked, each with its KG paths to listened tracks."""
    _, emb = served
    got = rows(driver, database, "browser/guide_recommended", userId="u0")
    assert [r["rank"] for r in got] == [1, 2, 3]
    best = exact_ranking(emb, 0)[:3]
    assert [r["recommended"]["id"] for r in got] == [t for t, _ in best]
    assert [r["score"] for r in got] == pytest.approx([round(s, 4) for _, s in best], abs=1e-4)
    assert any(r["why"] for r in got)


def test_switching_modes_between_publishes(served, driver, database, tmp_path):
    """A top-K publish over a vector-served model serves RECOMMENDED again; publishing the same
    version from vectors afterwards writes none and reads vectors."""
    run = write_run(tmp_path / "run-t", seed=3, model="bpr")
    topk = publish(driver, database, run, progress=False)
    assert topk.serve == "topk" and topk.recommendations > 0
    state = rows(driver, database, "recommend_user_state", userId="u0")[0]
    assert state["serve"] == "topk" and state["known"]
    assert for_user(driver, database, "u0", k=3).rows[0]["rank"] >= 1
    again = publish(driver, database, run, progress=False, serve="vectors", model_id="run-t-v")
    assert again.recommendations == 0
    assert rows(driver, database, "recommend_user_state", userId="u0")[0]["serve"] == "vectors"
    emb = torch.load(run / RunFolder.EMBEDDINGS, weights_only=True)
    assert [r["trackId"] for r in for_user(driver, database, "u0", k=3).rows] == \
        [t for t, _ in exact_ranking(emb, 0)[:3]]


def test_a_model_not_scored_by_a_dot_product_is_refused(served, driver, database, tmp_path):
    run = write_run(tmp_path / "run-p", seed=4, model="mkgcn-paper")
    with pytest.raises(PublishError, match="cannot be served from them: publish it with --serve topk"):
        publish(driver, database, run, progress=False, serve="vectors")
    out = CliRunner().invoke(cli, ["publish", str(run), "--serve", "vectors"])
    assert out.exit_code == 1 and len(out.output.strip().splitlines()) == 1
    assert "--serve topk" in out.output
