"""The read queries of ``cypher/`` and ``mmkg recommend|similar`` on a small published demo graph."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.graph import CYPHER_DIR, load_query
from mmkg.schema import VECTOR_SLOTS, Label
from mmkg.publish.writer import publish
from mmkg.train.run_folder import RunFolder
from tests.demo_graph import K, build_demo_graph, listened_pairs, track_id, write_run

READ_QUERIES = {
    "recommend": {"userId": "u0", "k": 10, "genre": None, "newOnly": False},
    "similar_tracks": {"trackId": "t0", "k": 3},
    "cold_start": {"trackIds": ["t0", "t2"], "k": 3, "genre": None, "newOnly": False},
    "explain": {"userId": "u0", "likedTrackIds": None, "similarTo": None, "explainedTrackId": "t8",
                "limit": 5},
    "current_vectors": {"ids": ["t0", "u0"]},
    "published_recommendations": {},
}
OWNED = [*READ_QUERIES, "recommend_vectors", "recommend_user_state",
         *(p.stem for p in CYPHER_DIR.glob("publish_*.cypher"))]


@pytest.fixture(scope="module")
def published(driver, database, tmp_path_factory):
    """The demo graph with model run-a (d = 4) published; built once for the module (read-only)."""
    from mmkg.graph.schema import apply_schema, reset_database

    reset_database(driver, database)
    apply_schema(driver, database)
    build_demo_graph(driver, database)
    run = write_run(tmp_path_factory.mktemp("runs") / "run-a")
    publish(driver, database, run, progress=False)
    return torch.load(run / RunFolder.EMBEDDINGS, weights_only=True)


def rows(driver, database, name, **params) -> list[dict]:
    records, _, _ = driver.execute_query(load_query(name), params, database_=database)
    return [r.data() for r in records]


def mmkg(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.usefixtures("uri_scheme")
def test_cli_before_any_publish(empty_db, database):
    build_demo_graph(empty_db, database)
    out = mmkg("recommend", "u0")
    assert out.exit_code == 1 and "no model is published yet" in out.output
    out = mmkg("similar", "t0")
    assert out.exit_code == 1 and "no model is published yet" in out.output


@pytest.mark.parametrize("name", OWNED)
def test_query_files_document_params_and_columns(name):
    header = (CYPHER_DIR / f"{name}.cypher").read_text().split("\n")
    comments = "\n".join(line for line in header if line.startswith("//"))
    assert "Params:" in comments and "Returns:" in comments
    assert load_query(name)  # a body remains once comments are stripped


@pytest.mark.parametrize("name", list(READ_QUERIES))
def test_each_read_query_returns_rows(published, driver, database, name):
    assert rows(driver, database, name, **READ_QUERIES[name])


def test_vector_queries_follow_the_current_model_not_a_fixed_slot():
    """Readers take the vector property and index from (:Model {current: true}); naming a slot
    would read the one the next publish rewrites."""
    for name in ("similar_tracks", "cold_start", "recommend_track_state", "current_vectors",
                 "recommend_vectors"):
        query = load_query(name)
        assert "vector_property" in query
        for slot in VECTOR_SLOTS:
            assert slot.prop not in query and all(i not in query for i in slot.indexes.values())
    for name in ("similar_tracks", "cold_start"):
        assert "queryNodes(m.track_index," in load_query(name)
    vectors = load_query("recommend_vectors")
    assert "properties(m).serving_index AS servingIndex" in vectors and "queryNodes(servingIndex," in vectors
    assert all(slot.serving not in load_query("recommend_vectors") for slot in VECTOR_SLOTS)


def test_current_vectors_are_the_published_ones(published, driver, database):
    got = {(r["label"], r["id"]): r["vector"] for r in rows(driver, database, "current_vectors",
                                                          ids=["t3", "u1", "nobody"])}
    assert set(got) == {("Track", "t3"), ("User", "u1")}
    assert torch.allclose(torch.tensor(got["Track", "t3"]), published["track"][3])
    assert torch.allclose(torch.tensor(got["User", "u1"]), published["user"][1])


def test_recommend_follows_the_model_ranking_without_listened_tracks(published, driver, database):
    listened = {}
    for user, track in listened_pairs():
        listened.setdefault(user, set()).add(track)
    for j, user in enumerate(sorted(listened)):
        got = rows(driver, database, "recommend", userId=user, k=K, genre=None, newOnly=False)
        ranked = [track_id(i) for i in published["topk"]["items"][j].tolist()]
        assert [r["trackId"] for r in got] == [t for t in ranked if t not in listened[user]]
        assert [r["rank"] for r in got] == sorted(r["rank"] for r in got)
        assert all(r["artist"] and r["title"] for r in got)
    assert len(rows(driver, database, "recommend", userId="u0", k=2, genre=None, newOnly=False)) == 2


def test_the_guide_and_explain_start_where_recommend_does(published, driver, database):
    """The Browser's top 3 and the track ``explain`` picks by default are ``recommend.cypher``'s
    first rows: a stored list may hold a track the user has listened to since the publish (a
    listen ingested the day after), which every reader leaves out."""
    users = sorted({user for user, _ in listened_pairs()})
    heard_since = 0
    for user in users:
        first = rows(driver, database, "recommend", userId=user, k=3, genre=None, newOnly=False)
        guide = rows(driver, database, "browser/guide_recommended", userId=user)
        assert [(r["rank"], r["title"]) for r in guide] == [(r["rank"], r["title"]) for r in first]
        explained = rows(driver, database, "explain", userId=user, likedTrackIds=None,
                         similarTo=None, explainedTrackId=None, limit=1)
        assert {r["trackId"] for r in explained} <= {first[0]["trackId"]}
        heard_since += first[0]["rank"] > 1
    assert heard_since  # the demo's lists hold listened tracks: the case is exercised
    for user in users:  # the table says why its ranks skip, and only then
        first = rows(driver, database, "recommend", userId=user, k=3, genre=None, newOnly=False)
        out = mmkg("recommend", user, "--k", "3")
        assert out.exit_code == 0, out.output
        said = " ".join(out.output.split())  # the note wraps at the terminal's width
        assert ("the ranks skipped are tracks the user has listened to" in said) == (
            [r["rank"] for r in first] != [1, 2, 3]), out.output


def test_recommend_genre_filter_by_id_or_name(published, driver, database):
    all_rows = rows(driver, database, "recommend", userId="u1", k=K, genre=None, newOnly=False)
    odd = [r["trackId"] for r in all_rows if int(r["trackId"][1:]) % 2 == 1]
    even = [r["trackId"] for r in all_rows if int(r["trackId"][1:]) % 2 == 0]
    assert odd and even  # u1 (a jazz fan) also gets some rock tracks in its top-K
    for genre in ("g-jazz", "jazz", "Jazz", "JAZZ"):  # an id, or a name in any case
        assert [r["trackId"] for r in rows(driver, database, "recommend", userId="u1", k=K,
                                           genre=genre, newOnly=False)] == odd
    assert [r["trackId"] for r in rows(driver, database, "recommend", userId="u1", k=K,
                                       genre="rock", newOnly=False)] == even


def test_similar_tracks_match_exact_cosine_neighbours_through_the_index(published, driver, database):
    vectors = published["track"].numpy()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit[5]
    expected = [track_id(i) for i in np.argsort(-cosine) if i != 5][:4]
    got = rows(driver, database, "similar_tracks", trackId="t5", k=4)
    assert [r["trackId"] for r in got] == expected
    assert np.allclose([r["score"] for r in got], [(1 + cosine[int(t[1:])]) / 2 for t in expected],
                       atol=1e-2)
    plan = driver.execute_query("EXPLAIN " + load_query("similar_tracks"),
                                {"trackId": "t5", "k": 4}, database_=database)[1].plan
    assert "db.index.vector.queryNodes" in json.dumps(plan)


def test_cold_start_averages_liked_tracks_and_excludes_them(published, driver, database):
    got = rows(driver, database, "cold_start", trackIds=["t1", "t3", "unknown"], k=4, genre=None,
               newOnly=False)
    ids = [r["trackId"] for r in got]
    assert len(ids) == 4 and not {"t1", "t3"} & set(ids)
    assert all(int(t[1:]) % 2 == 1 for t in ids)  # jazz likes → jazz tracks


def reasons(driver, database, user: str | None, track: str, liked: list[str] | None = None,
            similar_to: str | None = None) -> list[str]:
    """The KG reasons (this graph has no features, so no modality reason)."""
    got = rows(driver, database, "explain", userId=user, likedTrackIds=liked, similarTo=similar_to,
               explainedTrackId=track, limit=10)
    assert {r["kind"] for r in got} <= {"kg"} and all(r["closerThan"] is None for r in got)
    assert [r["hops"] for r in got] == sorted(r["hops"] for r in got)
    assert all(r["path"] is not None and r["support"] == len(r["listened"]) for r in got)
    return [r["reason"] for r in got]


def test_explain_shared_genre_artist_and_album(published, driver, database):
    # u0 listened to t0 (Ada) and t4 (Bix), both rock and on 'First Album' (by Ada)
    assert reasons(driver, database, "u0", "t8") == [
        "same Genre 'rock' as 2 track(s) you listened to: 'Song 0', 'Song 4'"]
    assert reasons(driver, database, "u0", "t3") == [
        "same Artist 'Ada' as 1 track(s) you listened to: 'Song 0'",
        "linked through Artist 'Ada' and Album 'First Album' to 2 track(s) you listened to: "
        "'Song 0', 'Song 4'",
    ]
    assert reasons(driver, database, "u0", "t11") == []  # jazz, by Cleo: nothing within 3 hops
    assert reasons(driver, database, "u-new", "t7") == []


def test_explain_for_liked_tracks_points_to_them(published, driver, database):
    """``$likedTrackIds`` replaces the user's listens: the reasons reach the liked tracks only,
    worded for someone who likes them, with or without a user."""
    assert reasons(driver, database, None, "t8", ["t0", "t4"]) == [
        "same Genre 'rock' as 2 track(s) you like: 'Song 0', 'Song 4'"]
    assert reasons(driver, database, "u0", "t3", ["t4"]) == [  # u0's t0 (same Artist) ignored
        "linked through Artist 'Ada' and Album 'First Album' to 1 track(s) you like: 'Song 4'"]
    assert reasons(driver, database, None, "t3", ["t3"]) == []  # the track itself is no reason
    assert reasons(driver, database, None, "t8", []) == []


def test_explain_similar_to_one_track_names_it_alone(published, driver, database):
    """``$similarTo`` (``mmkg similar --explain``): the reasons reach that one track, named by its
    title, whoever the user and whatever the liked tracks."""
    assert reasons(driver, database, None, "t8", similar_to="t0") == ["same Genre 'rock' as 'Song 0'"]
    assert reasons(driver, database, "u0", "t3", ["t4"], similar_to="t0") == [  # u0, t4 ignored
        "same Artist 'Ada' as 'Song 0'",
        "linked through Artist 'Ada' and Album 'First Album' to 'Song 0'"]
    assert reasons(driver, database, None, "t9", similar_to="t0")[0] == (
        "directly related (music.recording.cover_of) to 'Song 0'")
    assert reasons(driver, database, None, "t0", similar_to="t0") == []  # itself: no reason
    assert reasons(driver, database, None, "t11", similar_to="t0") == []


def test_explain_follows_generic_kg_relations(published, driver, database):
    # t9 is a cover of t0 (1 hop); t6 was recorded in Paris, the origin of Ada (t0) and Bix (t4)
    assert reasons(driver, database, "u0", "t9")[0] == (
        "directly related (music.recording.cover_of) to 1 track(s) you listened to: 'Song 0'")
    via_paris = [r for r in reasons(driver, database, "u0", "t6") if "Paris" in r]
    assert sorted(via_paris) == [
        "linked through Entity 'Paris' and Artist 'Ada' to 1 track(s) you listened to: 'Song 0'",
        "linked through Entity 'Paris' and Artist 'Bix' to 1 track(s) you listened to: 'Song 4'",
    ]


@pytest.mark.usefixtures("uri_scheme")
def test_cli_recommend_json_with_explain(published):
    out = mmkg("recommend", "u0", "--k", "3", "--json", "--explain")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert [d["rank"] for d in data] == sorted(d["rank"] for d in data) and len(data) == 3
    assert set(data[0]) >= {"trackId", "title", "artist", "score", "rank", "reasons"}
    assert any(d["reasons"] for d in data)


@pytest.mark.usefixtures("uri_scheme")
def test_cli_recommend_table_and_genre(published):
    out = mmkg("recommend", "u1", "--genre", "rock")
    assert out.exit_code == 0, out.output
    assert "Song" in out.output
    assert "rank: each track's place in the user's whole list" in out.output
    out = mmkg("recommend", "u1", "--genre", "Rock", "--k", "2", "--json")
    assert out.exit_code == 0 and len(json.loads(out.output)) == 2
    out = mmkg("recommend", "u1", "--genre", "polka")
    assert out.exit_code == 1, out.output
    assert "unknown genre 'polka'; genres (by id or name): 'jazz', 'rock'" in out.output
    out = mmkg("recommend", "u1", "--genre", "p" * 5000)  # a name may be that long: no word on ids
    assert out.exit_code == 1 and out.stderr.count("\n") == 1, out.output
    assert f"unknown genre '{'p' * 40}…' (5,000 characters); genres (by id or name): 'jazz', 'rock'" \
        in out.stderr


@pytest.mark.usefixtures("uri_scheme")
def test_cli_says_when_the_stored_top_list_runs_short_of_k(published):
    got = json.loads(mmkg("recommend", "u0", "--k", "20", "--json").output)
    assert 0 < len(got) < K  # u0's top 8, less what u0 listened to
    out = mmkg("recommend", "u0", "--k", "20")
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())  # unwrapped
    assert f"{len(got)} of the 20 asked: model run-a" in text
    assert f"stores each user's top {K}, less what they listened to" in text
    out = mmkg("recommend", "u0", "--k", str(len(got)))
    assert out.exit_code == 0 and "asked" not in out.output


@pytest.mark.usefixtures("uri_scheme")
def test_cli_user_messages(published):
    out = mmkg("recommend", "nobody")
    assert out.exit_code == 1 and "unknown user 'nobody'" in out.output
    out = mmkg("recommend", "u-new")
    assert out.exit_code == 1 and "has no listening history" in out.output and "--like" in out.output
    out = mmkg("recommend", "u-late", "--json")  # listened to t0 after the model was trained
    assert out.exit_code == 0, out.output
    assert "cold start" in out.stderr
    data = json.loads(out.stdout)
    assert data and "t0" not in {d["trackId"] for d in data}
    assert "recommending from their 1 listened track (cold start)" in out.stderr
    out = mmkg("recommend")
    assert out.exit_code == 2 and "--like" in out.output


@pytest.mark.usefixtures("uri_scheme")
def test_cli_cold_start_and_similar(published):
    out = mmkg("recommend", "--like", "t1", "--like", "t3", "--k", "2", "--json")
    assert out.exit_code == 0, out.output
    assert [d["rank"] for d in json.loads(out.output)] == [1, 2]
    out = mmkg("similar", "t5", "--k", "3", "--json")
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.output)) == 3
    out = mmkg("similar", "t99")
    assert out.exit_code == 1 and "unknown track(s): t99" in out.output
    out = mmkg("recommend", "--like", "t99")
    assert out.exit_code == 1 and "unknown track" in out.output
    out = mmkg("recommend", "--like", "t1", "u0")  # never silently ignored
    assert out.exit_code == 2 and "USER cannot apply" in out.output, out.output


@pytest.mark.usefixtures("uri_scheme")
def test_cold_starts_keep_to_the_genre(published):
    """--genre with --like, and for a user newer than the model (which used to ignore it): every
    track of the genre but the liked ones, exactly ranked; an unknown genre said so."""
    rock = {f"t{i}" for i in range(0, 12, 2)}
    for args, given in ((["--like", "t1", "--like", "t3"], set()), (["u-late"], {"t0"})):
        out = mmkg("recommend", *args, "--genre", "ROCK", "--k", "20", "--json")
        assert out.exit_code == 0, out.output
        assert {d["trackId"] for d in json.loads(out.stdout)} == rock - given
        out = mmkg("recommend", *args, "--genre", "polka")
        assert out.exit_code == 1 and "unknown genre 'polka'" in out.output
    out = mmkg("recommend", "--like", "t1", "--genre", "jazz", "--new", "--k", "20", "--json")
    assert out.exit_code == 0, out.output
    assert {d["trackId"] for d in json.loads(out.output)} == {"t9", "t11"}  # jazz nobody heard


@pytest.mark.usefixtures("uri_scheme")
def test_cli_cold_start_explains_through_the_liked_tracks(published):
    out = mmkg("recommend", "--like", "t0", "--like", "t4", "--k", "12", "--json", "--explain")
    assert out.exit_code == 0, out.output
    t8 = next(row for row in json.loads(out.output) if row["trackId"] == "t8")
    assert t8["reasons"] == ["same Genre 'rock' as 2 track(s) you like: 'Song 0', 'Song 4'"]
    assert t8["reasonKinds"] == ["kg"]
    out = mmkg("recommend", "--like", "t0", "--like", "t4", "--k", "12", "--explain")
    assert out.exit_code == 0, out.output
    assert "- same Genre 'rock' as 2 track(s) you like: 'Song 0', 'Song 4'" in out.output
    assert "(no knowledge-graph path, nor a close modality, to the liked tracks)" in out.output


LATE_TRACKS = """
MERGE (bare:Track {id: 'x-bare'}) SET bare.title = 'Bare'
MERGE (rock:Track {id: 'x-rock'}) SET rock.title = 'Late rock'
MERGE (heard:Track {id: 'x-audio'}) SET heard.title = 'Late audio', heard.audio = 'media/audio/x.wav'
WITH bare, rock MATCH (g:Genre {id: 'g-rock'}) MERGE (rock)-[:HAS_GENRE]->(g)
MERGE (only:User {id: 'u-bare'}) MERGE (only)-[:LISTENED {plays: 3}]->(bare)
MERGE (mixed:User {id: 'u-mixed'}) MERGE (mixed)-[:LISTENED {plays: 3}]->(bare)
MERGE (mixed)-[:LISTENED {plays: 3}]->(rock)
WITH mixed MATCH (t:Track) WHERE t.id IN ['t1', 't3'] MERGE (mixed)-[:LISTENED {plays: 3}]->(t)
"""
"""Tracks and users ingested after run-a was published, so without a vector of it: ``x-bare``
(nothing places it: no media, no KG facts), ``x-rock`` (a genre) and ``x-audio`` (a media file);
``u-bare`` listened to x-bare alone, ``u-mixed`` to x-bare, x-rock, t1 and t3."""


@pytest.fixture(scope="module")
def late(published, driver, database):
    """:data:`LATE_TRACKS` added to the published demo graph (no query of the other tests
    returns a track without a vector)."""
    driver.execute_query(LATE_TRACKS, database_=database)


@pytest.mark.usefixtures("uri_scheme")
def test_json_rows_name_their_model_method_and_score_kind(published, driver, database):
    """Every --json row names the model, how its list was made and what its score is, whoever
    asks: a known user (the stored top-K: the model's sigmoid), a user newer than the model and
    --like (cold start: a cosine), similar (a cosine); the keys there were stay."""
    model = rows(driver, database, "recommend_user_state", userId="u0")[0]["model"]
    for args, method, kind in ((["recommend", "u0"], "topk", "sigmoid"),
                               (["recommend", "u0", "--genre", "jazz"], "topk", "sigmoid"),
                               (["recommend", "u-late"], "cold-start", "cosine"),
                               (["recommend", "--like", "t1", "--new"], "cold-start", "cosine"),
                               (["similar", "t5"], "similar", "cosine")):
        out = mmkg(*args, "--k", "3", "--json")
        assert out.exit_code == 0, out.output
        got = json.loads(out.stdout)
        assert got and all(set(r) == {"rank", "trackId", "title", "artist", "score", "model",
                                      "method", "scoreKind"} for r in got), got
        assert {(r["model"], r["method"], r["scoreKind"]) for r in got} == {(model, method, kind)}
        if kind == "cosine":  # (this run's stored top-K scores are raw dot products, not sigmoids)
            assert all(0 <= r["score"] <= 1 for r in got)


@pytest.mark.usefixtures("uri_scheme", "late")
def test_a_track_without_a_vector_says_what_would_give_it_one():
    """`similar` / `--like` on tracks without a vector: `--new-tracks` is named for a track with a
    KG fact or a media file; a track with neither is said to have nothing that places it."""
    for track in ("x-rock", "x-audio"):
        out = mmkg("similar", track)
        assert out.exit_code == 1 and out.stderr.count("\n") == 1, out.output
        assert f"no vector for {track} in the current model run-a-" in out.stderr
        assert "`mmkg publish RUN --new-tracks` when it has media features or KG facts that model was trained on" in out.stderr
    out = mmkg("similar", "x-bare")
    assert out.exit_code == 1 and out.stderr.count("\n") == 1, out.output
    assert "no vector for x-bare in the current model run-a-" in out.stderr
    assert (": it has neither media nor KG facts: nothing places it until an ingest gives it media or "
            "KG facts (an artist, album, genre or tag)") in out.stderr
    assert "--new-tracks" not in out.stderr
    out = mmkg("recommend", "--like", "x-bare", "--like", "x-rock")
    assert out.exit_code == 1 and out.stderr.count("\n") == 1, out.output
    assert "`mmkg publish RUN --new-tracks` when it has media features or KG facts that model was trained on, else from the next `mmkg train`; x-bare has neither media nor KG facts" in out.stderr


@pytest.mark.usefixtures("uri_scheme", "late")
def test_a_new_user_whose_tracks_have_no_vector_gets_an_error_not_an_empty_list():
    """A user newer than the model who listened only to a track without a vector: one error line
    saying so (with and without --json, and with --new, which used to blame the new releases)."""
    for extra in ([], ["--json"], ["--new"], ["--genre", "rock"]):
        out = mmkg("recommend", "u-bare", *extra)
        assert out.exit_code == 1 and out.stdout == "" and out.stderr.count("\n") == 1, out.output
        assert "Error: user 'u-bare' is newer than model run-a-" in out.stderr
        assert (", and the one track they listened to has no vector of it: it has neither media nor "
                "KG facts: nothing places it until an ingest gives it") in out.stderr


@pytest.mark.usefixtures("uri_scheme", "late")
def test_a_cold_start_names_the_tracks_it_left_out():
    """Given tracks without a vector are left out, one warning line names them, and the counts are
    those of the tracks the answer comes from; the rows are those of the tracks with a vector."""
    alone = mmkg("recommend", "--like", "t5", "--k", "2", "--json")
    out = mmkg("recommend", "--like", "x-bare", "--like", "t5", "--k", "2", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == json.loads(alone.stdout)
    assert out.stderr.count("\n") == 1 and "x-bare; it has neither media nor KG facts" in out.stderr
    assert "warning: left out 1 of the 2 liked tracks, without a vector of model run-a-" in out.stderr
    out = mmkg("recommend", "--like", "x-bare", "--like", "t5", "--k", "2")
    assert out.exit_code == 0 and "cold start from 1 liked track" in out.stdout, out.output
    assert "warning: left out 1 of the 2 liked tracks" in out.stderr
    assert "warning" not in mmkg("recommend", "--like", "t5", "--like", "t5", "--k", "2").stderr

    out = mmkg("recommend", "u-mixed", "--k", "3", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == json.loads(mmkg("recommend", "--like", "t1", "--like", "t3",
                                                     "--k", "3", "--json").stdout)
    first, second = out.stderr.splitlines()
    assert first.startswith("user 'u-mixed' is newer than model run-a-")
    assert first.endswith(": recommending from 2 of their 4 listened tracks (cold start)")
    assert second.startswith("warning: left out 2 of the 4 listened tracks, without a vector of model run-a-")
    assert {"x-bare", "x-rock"} <= set(second.replace(";", ",").replace(":", ",").split(", "))
    assert "; a track that arrived after the model was trained gets one from `mmkg publish RUN " \
           "--new-tracks` when it has media features or KG facts that model was trained on, else " \
           "from the next `mmkg train`; x-bare has neither media nor KG facts" in second


BROWSER = CYPHER_DIR / "browser"


def test_browser_style_gives_every_label_a_colour_and_caption():
    from mmkg.schema import Modality

    style = (BROWSER / "style.grass").read_text()
    for label in [*Label, *Modality]:
        line = next((l for l in style.splitlines() if l.startswith(f"node.{label.value} ")), "")
        assert "color:" in line and "caption:" in line, label
