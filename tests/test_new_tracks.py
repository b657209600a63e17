"""Tracks ingested after training get vectors from the trained MKGCN (``mmkg publish RUN
--new-tracks``), without retraining: a planted two-taste catalog, trained and published; then
twins of known tracks (same features, artist and genre) arrive and must land in the right
users' recommendations and beside their twins in ``similar``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.errors import PublishError
from mmkg.graph.schema import apply_schema, reset_database
from mmkg.publish.lock import publish_lock
from mmkg.publish.new_tracks import publish_new_tracks

torch.set_num_threads(1)

TASTES, PER_TASTE, USERS_PER_TASTE, LISTENS, DIM = 2, 20, 10, 8, 8
TWINS = {"n0a": "t0_0", "n0b": "t0_1", "n1a": "t1_0"}
"""New track → the known track whose features, artist and genre it copies."""
BARE = "n-bare"
"""A new track with neither features nor KG facts."""


def mmkg(*args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def taste(track: str) -> int:
    return int(TWINS.get(track, track)[1])


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n")


def write_catalog(folder: Path, tracks: list[tuple[str, int, int]], features: dict[str, np.ndarray],
                  listens: list[tuple[str, str]]) -> None:
    """``tracks``: (id, taste, artist number); each taste has one genre and two artists."""
    write_csv(folder / "genres.csv", ["id", "name"], [[f"g{c}", f"genre {c}"] for c in range(TASTES)])
    write_csv(folder / "artists.csv", ["id", "name"],
              [[f"a{c}{k}", f"artist {c}{k}"] for c in range(TASTES) for k in range(2)])
    write_csv(folder / "tracks.csv", ["id", "title", "artist_id", "genre_id"],
              [[t, f"Song {t}", f"a{c}{k}" if c >= 0 else "", f"g{c}" if c >= 0 else ""]
               for t, c, k in tracks])
    if features:
        write_csv(folder / "features" / "audio_planted.csv", ["track_id", *[f"f{d + 1}" for d in range(DIM)]],
                  [[t, *np.round(v, 5)] for t, v in features.items()])
    if listens:
        write_csv(folder / "interactions.csv", ["user_id", "track_id", "plays"],
                  [[u, t, 3] for u, t in listens])


@pytest.fixture(scope="module")
def published(driver, database, tmp_path_factory):
    """The planted catalog ingested, trained (a few epochs, small d), published; then the new
    tracks ingested (not embedded). Returns the run folder and the late catalog. The epoch is
    selected on validation AUC: this validation set is so small that Recall@20 is 1.0 from the
    first epoch on, which would select an untrained model. The learning rate is the test's own
    (4e-3; MKGCN's default is 2e-3, chosen on Last.FM): with ~100 training listens an epoch is one
    optimisation step, and the test is about embedding new tracks, not about the default's pace."""
    reset_database(driver, database)
    apply_schema(driver, database)
    tmp = tmp_path_factory.mktemp("new-tracks")
    rng = np.random.default_rng(0)
    centres = np.zeros((TASTES, DIM))
    for c in range(TASTES):
        centres[c, c * DIM // TASTES:(c + 1) * DIM // TASTES] = 3.0
    tracks = [(f"t{c}_{i}", c, i % 2) for c in range(TASTES) for i in range(PER_TASTE)]
    features = {t: centres[c] + rng.normal(0, 0.5, DIM) for t, c, _ in tracks}
    listens = [(f"u{c}_{j}", f"t{c}_{i}") for c in range(TASTES) for j in range(USERS_PER_TASTE)
               for i in rng.choice(PER_TASTE, LISTENS, replace=False)]
    write_catalog(tmp / "catalog", tracks, features, listens)
    run = tmp / "run"
    mmkg("ingest", tmp / "catalog", "--no-features")
    mmkg("export", tmp / "export", "--split-seed", "0")
    mmkg("train", "--out", run, "--export", tmp / "export", "--set", "epochs=40", "--set", "model.dim=16",
         "--seed", "0", "--quiet", "--set", "patience=40", "--set", "monitor='auc'", "--set", "lr=0.004")
    mmkg("publish", run)

    twins = {n: next(x for x in tracks if x[0] == t) for n, t in TWINS.items()}
    late = [(n, c, k) for n, (_, c, k) in twins.items()] + [(BARE, -1, 0)]
    write_catalog(tmp / "late", late, {n: features[t] for n, t in TWINS.items()}, [])
    mmkg("ingest", tmp / "late", "--no-features")
    return run


def current_state(driver, database) -> tuple[dict, list]:
    """The current model's track vectors and RECOMMENDED rows, for comparing two runs."""
    records, _, _ = driver.execute_query(
        "MATCH (m:Model {current: true}) MATCH (t:Track) RETURN t.id AS id, t[m.vector_property] AS v",
        database_=database)
    vectors = {r["id"]: r["v"] for r in records}
    records, _, _ = driver.execute_query(
        "MATCH (m:Model {current: true}) MATCH (u:User)-[r:RECOMMENDED]->(t:Track) WHERE r.model = m.id "
        "RETURN u.id AS u, t.id AS t, r.rank AS rank, r.score AS score ORDER BY u, rank",
        database_=database)
    return vectors, [tuple(r.values()) for r in records]


def test_ingest_names_the_tracks_the_current_model_has_no_vector_for(published, driver, database):
    """After an ingest (here the late catalog again: idempotent), the tracks without a vector of
    the current model are counted, with the command that places them on the run it was published
    from, and those that nothing can place (no media, no KG facts) are named apart."""
    out = mmkg("ingest", published.parent / "late", "--no-features")
    records, _, _ = driver.execute_query(
        "MATCH (m:Model {current: true}) MATCH (t:Track) WHERE t[m.vector_property] IS NULL "
        "RETURN count(t) AS n", database_=database)
    missing = records[0]["n"]
    assert missing >= 1  # the bare track has nothing to place it by
    assert (f"{missing} track(s) have no vector from the current model run-") in out
    assert f"`mmkg publish {published.resolve()} --new-tracks` places those" in out
    assert ("1 of them have neither media nor KG facts: nothing places them until an ingest gives "
            "them media or KG facts") in out  # the bare track

    driver.execute_query("MATCH (m:Model {current: true}) SET m.run_folder = '/gone/run'",
                         database_=database)
    try:
        out = mmkg("ingest", published.parent / "late", "--no-features")
    finally:
        driver.execute_query("MATCH (m:Model {current: true}) SET m.run_folder = $run",
                             run=str(published.resolve()), database_=database)
    assert "`mmkg publish RUN --new-tracks` places those with media features or KG facts the model was trained on, RUN being run-" in out
    assert "(/gone/run when it was published, gone from this machine)" in out


def test_new_tracks_are_recommended_to_matching_users_and_similar_to_their_twins(published, driver,
                                                                                 database):
    before = json.loads(mmkg("recommend", "u0_0", "--k", "30", "--json"))
    assert not {r["trackId"] for r in before} & set(TWINS)

    out = mmkg("publish", published, "--new-tracks")

    assert f"3 of {len(TWINS) + 1} new track(s) embedded, " in out          # each one a first
    for c in range(TASTES):
        for j in range(3):
            user = f"u{c}_{j}"
            rows = json.loads(mmkg("recommend", user, "--k", "40", "--json"))
            place = {r["trackId"]: k for k, r in enumerate(rows)}
            mine = [place[n] for n in TWINS if taste(n) == c]
            others = [place[n] for n in TWINS if taste(n) != c]
            assert max(mine) < 20, (user, rows)                      # on their first page (top 20)
            assert max(mine) < min(others), (user, rows)             # ahead of the other taste's
    _, recommended = current_state(driver, database)
    by_user: dict[str, list[int]] = {}
    for user, _, rank, _ in recommended:
        by_user.setdefault(user, []).append(rank)
    assert all(ranks == list(range(1, len(ranks) + 1)) for ranks in by_user.values())
    for new, twin in TWINS.items():   # beside its twin: ahead of every track of the other taste
        similar = [r["trackId"] for r in json.loads(mmkg("similar", twin, "--k", "40", "--json"))]
        first_other = min(k for k, t in enumerate(similar) if taste(t) != taste(new))
        assert similar.index(new) < first_other, (twin, similar)
    out = mmkg("ingest", published.parent / "late", "--no-features")   # only the bare track is left
    assert ("1 track(s) have no vector from the current model run-") in out
    assert "and none has media or KG facts: nothing places them until an ingest gives them" in out
    assert "--new-tracks` places those" not in out
    driver.execute_query("MATCH (t:Track {id: $id}) SET t.audio = 'media/audio/late.wav'", id=BARE,
                         database_=database)        # a media file to compute features from
    try:
        out = mmkg("ingest", published.parent / "late", "--no-features")
    finally:
        driver.execute_query("MATCH (t:Track {id: $id}) REMOVE t.audio", id=BARE, database_=database)
    assert "--new-tracks` places those" in out and "nothing places them" not in out
    bare = CliRunner().invoke(cli, ["similar", BARE])   # what --new-tracks could not place
    assert bare.exit_code == 1
    assert f"Error: no vector for {BARE} in the current model run-" in bare.output
    assert "it has neither media nor KG facts: nothing places it until an ingest gives it" in bare.output
    assert "--new-tracks" not in bare.output


def unheard(driver, database) -> set[str]:
    records, _, _ = driver.execute_query(
        "MATCH (t:Track) WHERE NOT EXISTS { (t)<-[:LISTENED]-() } RETURN t.id AS id", database_=database)
    return {r["id"] for r in records}


def test_recommend_new_lists_the_new_releases_of_the_model_s_list(published, driver, database):
    """``recommend --new``: the user's list without the tracks anyone listened to, ranks kept;
    with ``--like`` (a cold start), the new releases nearest the liked track."""
    mmkg("publish", published, "--new-tracks")
    fresh = unheard(driver, database)
    for c in range(TASTES):
        user = f"u{c}_0"
        every = json.loads(mmkg("recommend", user, "--k", "40", "--json"))
        new = json.loads(mmkg("recommend", user, "--k", "40", "--new", "--json"))
        assert new == [r for r in every if r["trackId"] in fresh]
        assert set(TWINS) <= {r["trackId"] for r in new} and len(new) < len(every)
        table = mmkg("recommend", user, "--k", "3", "--new")
        assert "new releases for user" in table
        assert "rank: each track's place in the user's whole list" in table   # the ranks skip
        assert "whole list" not in mmkg("recommend", user, "--k", "3")
    liked = [r["trackId"] for r in json.loads(mmkg("recommend", "--like", "t0_0", "--new", "--json"))]
    assert set(liked) == set(TWINS) <= fresh  # a cold start's new releases: the embedded ones,
    assert set(liked[:2]) == {"n0a", "n0b"}   # taste 0's nearest to a taste-0 track


def test_a_new_track_sounds_like_its_twin_in_explanations(published, driver, database):
    """Its features get the calibrated copy that the catalog's publish gave its twin's (same
    raw vector, the same standardisation), so ``explain`` finds it as close as can be."""
    out = mmkg("publish", published, "--new-tracks")
    assert f"{len(TWINS)} feature vector(s) calibrated for explanations" in out
    records, _, _ = driver.execute_query(
        "MATCH (t:Track)-[:HAS_FEATURE]->(f:Feature) WHERE t.id IN $ids "
        "RETURN t.id AS track, f.calibrated AS z", ids=[*TWINS, *TWINS.values()], database_=database)
    z = {r["track"]: r["z"] for r in records}
    for new, twin in TWINS.items():
        assert z[new] is not None and np.allclose(z[new], z[twin], atol=1e-6), new
    listener = driver.execute_query("MATCH (u:User)-[:LISTENED]->(:Track {id: 't0_0'}) RETURN u.id "
                                    "ORDER BY u.id LIMIT 1", database_=database).records[0][0]
    rows = json.loads(mmkg("recommend", listener, "--k", "40", "--explain", "--json"))
    reasons = next(r["reasons"] for r in rows if r["trackId"] == "n0a")
    assert "sounds like 'Song t0_0' (closer than 99 % of track pairs)" in reasons, reasons


def test_a_track_without_media_or_kg_facts_is_named_not_embedded(published, driver, database):
    out = mmkg("publish", published, "--new-tracks")

    assert (f"1 new track(s) have neither media features nor KG facts the model knows, so no "
            f"vector until a model is trained with them (`mmkg train`): {BARE}") in out
    vectors, recommended = current_state(driver, database)
    assert vectors[BARE] is None
    assert BARE not in {t for _, t, _, _ in recommended}


def test_new_tracks_rerun_writes_the_same_vectors_and_lists(published, driver, database):
    mmkg("publish", published, "--new-tracks")
    first = current_state(driver, database)
    out = mmkg("publish", published, "--new-tracks")
    assert current_state(driver, database) == first
    assert f"3 of {len(TWINS) + 1} new track(s) embedded (0 for the first time)" in out
    assert all(first[0][n] is not None for n in TWINS)


def test_new_tracks_wait_for_no_publish(published, driver, database):
    with publish_lock(driver, database, "another run"):
        with pytest.raises(PublishError, match="another publish is running"):
            publish_new_tracks(driver, database, published)


def test_a_new_track_gets_what_the_model_computes_for_its_twin_without_id_and_listens(
        published, driver, database):
    """The twin ``t0_0`` with its ID row zeroed and its training listens removed, run through
    the model itself, is a cold item with the same content and KG facts as ``n0a``: same vector
    (KG depth 1, so ``n0a``'s arrival changes none of its neighbours' inputs)."""
    from dataclasses import replace

    from mmkg.train.config import TrainConfig
    from mmkg.train.evaluate import load_run
    from mmkg.train.model import build_model
    from mmkg.train.run_folder import RunFolder

    mmkg("publish", published, "--new-tracks")
    vectors, _ = current_state(driver, database)
    _, data = load_run(published)
    saved = RunFolder(published).load_model()
    config = TrainConfig(**saved.config)
    assert config.model.kg.hops == 1
    twin = data.item_ids.index(TWINS["n0a"])
    train = data.train[data.train[:, 1] != twin]
    cold = build_model(config.model, replace(data, split={**data.split, "train": train}),
                       np.random.default_rng(config.seed))
    state = dict(saved.state_dict)
    state["entity.weight"] = state["entity.weight"].clone()
    state["entity.weight"][twin] = 0.0
    cold.load_state_dict(state)
    cold.eval()
    with torch.no_grad():
        items, _ = cold.get_embedding()
    torch.testing.assert_close(torch.tensor(vectors["n0a"]), items[twin], rtol=1e-4, atol=1e-5)


def test_new_tracks_of_a_model_served_from_vectors_get_serving_vectors(published, driver, database):
    """Served from vectors, the new tracks get serving vectors (no list is rewritten) and
    ``recommend`` ranks them at query time: in their taste, ahead of the other taste's."""
    mmkg("publish", published, "--serve", "vectors", "--model-id", "run-vectors")
    out = mmkg("publish", published, "--new-tracks", "--model-id", "run-vectors")
    assert f"3 of {len(TWINS) + 1} new track(s) embedded" in out
    records, _, _ = driver.execute_query(
        "MATCH (m:Model {current: true}) MATCH (t:Track) RETURN t.id AS id, t[m.serving_property] AS s",
        database_=database)
    serving = {r["id"]: r["s"] for r in records}
    assert all(serving[n] is not None for n in TWINS) and serving[BARE] is None
    assert driver.execute_query("MATCH ()-[r:RECOMMENDED {model: 'run-vectors'}]->() RETURN count(r)",
                                database_=database).records[0][0] == 0
    fresh = unheard(driver, database)
    for c in range(TASTES):
        rows = json.loads(mmkg("recommend", f"u{c}_0", "--k", "40", "--json"))
        place = {r["trackId"]: k for k, r in enumerate(rows)}
        assert max(place[n] for n in TWINS if taste(n) == c) < min(place[n] for n in TWINS
                                                                   if taste(n) != c), rows
        new = json.loads(mmkg("recommend", f"u{c}_0", "--k", "40", "--new", "--json"))
        assert new == [r for r in rows if r["trackId"] in fresh] and set(TWINS) <= {r["trackId"] for r in new}


def test_trained_entities_are_those_within_the_kg_hops_of_a_track():
    """Items 0, 1; entity 2 beside item 0, entity 3 beside 2 only (e.g. a new release's album,
    beside its artist), entity 4 alone: training reaches 3 only with two hops, 4 never."""
    from types import SimpleNamespace

    from mmkg.train.new_tracks import trained_entities

    kg = np.array([[0, 0, 2], [2, 0, 0], [3, 1, 2], [2, 1, 3]])
    data = SimpleNamespace(n_entities=5, n_items=2, kg=kg)
    assert trained_entities(data, 0).tolist() == [True, True, False, False, False]
    assert trained_entities(data, 1).tolist() == [True, True, True, False, False]
    assert trained_entities(data, 2).tolist() == [True, True, True, True, False]
    one_way = SimpleNamespace(n_entities=5, n_items=2, kg=kg[[1, 2]])  # 2 -> 0 and 3 -> 2 only
    assert trained_entities(one_way, 2).tolist() == [True, True, True, True, False]


def test_publish_places_the_tracks_it_has_no_vector_for_unless_trained_only(published, driver,
                                                                           database):
    """A publish of a run that lacks tracks of the graph (the 3 twins and the bare track arrived
    after training) says so and places them as `--new-tracks` does (the fixture's publish, before
    they arrived, had nothing to say; `make demo`'s publish places its 31 unplayed tracks). With
    `--trained-only` it names `--new-tracks` and leaves them without a vector; published again
    so, a version whose lists placement extended gets the run's own lists back, and a plain
    publish of it places the tracks again."""
    out = mmkg("publish", published, "--trained-only", "--model-id", "run-trained-only")
    assert f"{len(TWINS) + 1} track(s) of the graph have no vector from this model" in out
    assert f"`mmkg publish {published} --new-tracks` places them" in out
    vectors, own_lists = current_state(driver, database)
    assert all(vectors[n] is None for n in TWINS) and not set(TWINS) & {t for _, t, _, _ in own_lists}

    out = mmkg("publish", published, "--model-id", "run-placed")
    assert f"{len(TWINS) + 1} track(s) of the graph have no vector from this model" in out
    assert "placing them from their content and KG facts" in out
    assert f"3 of {len(TWINS) + 1} new track(s) embedded" in out
    assert f"so no vector until a model is trained with them (`mmkg train`): {BARE}" in out
    vectors, recommended = current_state(driver, database)
    assert all(vectors[n] is not None for n in TWINS) and vectors[BARE] is None
    assert set(TWINS) <= {t for _, t, _, _ in recommended}

    mmkg("publish", published, "--trained-only", "--model-id", "run-placed")
    vectors, restored = current_state(driver, database)
    assert all(vectors[n] is None for n in TWINS) and restored == own_lists
    mmkg("publish", published, "--model-id", "run-placed")
    vectors, replaced = current_state(driver, database)
    assert all(vectors[n] is not None for n in TWINS) and replaced == recommended

    refused = CliRunner().invoke(cli, ["publish", str(published), "--new-tracks", "--trained-only"])
    assert refused.exit_code == 2 and "give one of them" in refused.output


def test_publish_of_a_model_that_cannot_place_new_tracks_says_so(published, tmp_path):
    """LightGCN's vectors are its ID rows alone: its publish names the tracks it lacks and that
    MKGCN can place them, and places none."""
    run = tmp_path / "lightgcn"
    mmkg("train", "--out", run, "--export", published.parent / "export", "--set", "model.name='lightgcn'",
         "--set", "epochs=2", "--set", "model.dim=16", "--seed", "0", "--quiet")
    out = mmkg("publish", run, "--model-id", "run-lightgcn")
    assert (f"{len(TWINS) + 1} track(s) of the graph have no vector from this model (nobody had "
            "listened to them when it was trained, or they arrived since): mkgcn can place them, "
            "this run's model cannot") in out
    assert "embedded" not in out
    out = mmkg("ingest", published.parent / "late", "--no-features")
    assert (f"{len(TWINS) + 1} track(s) have no vector from the current model run-lightgcn (nobody "
            "had listened to them when it was trained, or they arrived since): mkgcn can place "
            "them, the current model (lightgcn) cannot") in out


def test_placing_counts_the_users_whose_lists_it_wrote(published, driver, database):
    """A user of the run forgotten since (``mmkg delete-users``) gets no list, so the line counts
    the users whose lists were rewritten, not the run's users whose list a new track entered.
    (Last in the module: it deletes a user.)"""
    gone = f"u{TASTES - 1}_{USERS_PER_TASTE - 1}"
    mmkg("delete-users", gone, "--yes")
    out = mmkg("publish", published, "--model-id", "run-counted")
    records, _, _ = driver.execute_query(
        "MATCH (u:User)-[r:RECOMMENDED {model: 'run-counted'}]->(:Track) "
        "WHERE EXISTS { (u)-[:RECOMMENDED {model: 'run-counted'}]->(n:Track) WHERE n.id IN $new } "
        "RETURN count(DISTINCT u) AS users, count(r) AS recommendations",
        new=list(TWINS), database_=database)
    [written] = records
    assert 0 < written["users"] < TASTES * USERS_PER_TASTE
    assert (f"{written['users']} user(s)' top-K rewritten ({written['recommendations']} "
            "recommendations)") in out, out
