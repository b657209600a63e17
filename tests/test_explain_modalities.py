"""Modality reasons of ``cypher/explain.cypher``: calibrated at publish (``publish/calibrate.py``)
against the catalog, so a planted audio twin is explained and a merely typical pair is not.

The demo graph of ``tests/demo_graph.py`` gets one 16-d ``Audio`` feature per track, built so
that every pair of tracks has a raw cosine around 0.9 (a large common part plus noise), as
real features do. Planted: ``t3``'s vector is ``t1``'s (plus a trace of noise), and both differ
from the rest; ``u1`` listened to ``t1`` (and ``t5``), ``u3`` to ``t3``. ``t8``'s noise is
orthogonal to that of ``t0`` and ``t4``, which ``u0`` listened to: raw cosines near 0.9, a
typical pair once calibrated.
"""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pytest
from click.testing import CliRunner
from neo4j import GraphDatabase

from mmkg.cli import cli
from mmkg.graph import load_query, render, run_batches
from mmkg.schema import Modality, feature_id
from mmkg.publish.calibrate import CalibrationConfig, sample_pairs
from mmkg.publish.writer import publish
from tests.demo_graph import N_TRACKS, build_demo_graph, track_id, write_run

AUDIO = "audio_test"
DIM = 16


def audio_vectors() -> np.ndarray:
    """``float[N_TRACKS, DIM]``: base + noise (raw cosines ~0.9), t3 ≈ t1, t8's noise ⟂ t0's, t4's."""
    rng = np.random.default_rng(3)
    base = rng.uniform(2.0, 3.0, DIM)
    noise = rng.normal(0.0, 0.8, (N_TRACKS, DIM))
    noise[1] += 2.0 * rng.normal(0.0, 1.0, DIM) / np.sqrt(DIM)       # t1: unlike the rest ...
    noise[3] = noise[1] + rng.normal(0.0, 0.01, DIM)                  # ... and t3 its twin
    basis, _ = np.linalg.qr(noise[[0, 4]].T)                          # span of t0's, t4's noise
    noise[8] -= basis @ (basis.T @ noise[8])                          # t8: orthogonal to it
    return base + noise


def _calibrated(vectors: np.ndarray) -> np.ndarray:
    """The contract of ``publish/calibrate.py``, computed here independently: standardised over
    the catalog (population std), each row L2-normalised."""
    z = (vectors - vectors.mean(axis=0)) / vectors.std(axis=0)
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def calibrated(driver, database, tmp_path_factory):
    """The demo graph with the audio features, run-a published (hence calibrated); read-only."""
    from mmkg.graph.schema import apply_schema, reset_database

    reset_database(driver, database)
    apply_schema(driver, database)
    build_demo_graph(driver, database)
    vectors = audio_vectors()
    rows = [{"track": track_id(i), "id": feature_id(track_id(i), AUDIO), "vector": v.tolist(),
             "summary": {}}
            for i, v in enumerate(vectors)]
    run_batches(driver, database, render("merge_features", kind=Modality.AUDIO), rows, batch_size=5,
                params={"props": {"name": AUDIO, "dim": DIM, "extractor": "test", "version": "1",
                                  "source": "test"}})
    summary = publish(driver, database, write_run(tmp_path_factory.mktemp("runs") / "run-a"),
                      progress=False)
    return summary, vectors


def explain(driver, database, user: str, track: str) -> list[dict]:
    records, _, _ = driver.execute_query(load_query("explain"), {
        "userId": user, "likedTrackIds": None, "similarTo": None, "explainedTrackId": track,
        "limit": 10},
        database_=database)
    return [r.data() for r in records]


def test_publish_stores_the_catalog_calibration(calibrated, driver, database):
    """Model.calibration_* hold the 95th percentile and the percentiles of the similarity of
    standardised vectors over all 66 track pairs, computed here from the raw vectors."""
    summary, vectors = calibrated
    z = _calibrated(vectors)
    sims = np.array([(1 + z[a] @ z[b]) / 2 for a, b in combinations(range(N_TRACKS), 2)])
    records, _, _ = driver.execute_query(
        "MATCH (m:Model {current: true}) RETURN m.calibration_features AS names, "
        "m.calibration_thresholds AS thresholds, m.calibration_percentiles AS percentiles, "
        "m.calibration_quantile AS quantile, m.calibration_pairs AS pairs", database_=database)
    model = records[0].data()
    assert model["names"] == [AUDIO] and model["pairs"] == [len(sims)] == [66]
    assert model["quantile"] == 0.95
    assert model["thresholds"][0] == pytest.approx(np.quantile(sims, 0.95), abs=1e-6)  # float32 inside Neo4j
    assert model["percentiles"] == pytest.approx(np.quantile(sims, np.arange(1, 100) / 100), abs=1e-6)
    assert [c.name for c in summary.calibrations] == [AUDIO]
    records, _, _ = driver.execute_query(
        "MATCH (t:Track)-[:HAS_FEATURE]->(f:Feature) RETURN t.id AS id, f.calibrated AS z",
        database_=database)
    stored = {r["id"]: r["z"] for r in records}
    assert np.array([stored[track_id(i)] for i in range(N_TRACKS)]) == pytest.approx(z, abs=1e-9)


def test_planted_audio_twin_sounds_like_the_listened_track(calibrated, driver, database):
    got = explain(driver, database, "u1", "t3")  # u1 listened to t1 (t3's twin) and t5
    audio = [r for r in got if r["kind"] == "audio"]
    assert [r["reason"] for r in audio] == ["sounds like 'Song 1' (closer than 99 % of track pairs)"]
    assert audio[0]["listened"] == ["Song 1"] and audio[0]["via"] == [AUDIO]
    assert audio[0]["closerThan"] == 99 and audio[0]["hops"] is None
    assert [r["kind"] for r in got] == ["kg", "audio"]  # KG and modality reasons alternate
    assert got[0]["reason"] == "same Genre 'jazz' as 2 track(s) you listened to: 'Song 1', 'Song 5'"
    assert explain(driver, database, "u3", "t1")[1]["reason"].startswith("sounds like 'Song 3'")


def test_a_typical_pair_with_raw_cosine_near_0_9_gets_no_reason(calibrated, driver, database):
    """Raw cosines of t8 with t0 and t4 (u0's listens) are ~0.9, as high as raw cosines get
    here; calibrated, the pairs are ordinary, so no modality reason."""
    _, vectors = calibrated
    raw = [cosine(vectors[a], vectors[b]) for a, b in combinations(range(N_TRACKS), 2)]
    assert cosine(vectors[8], vectors[0]) > 0.85 and cosine(vectors[8], vectors[4]) > 0.85
    assert cosine(vectors[8], vectors[0]) > np.median(raw)  # above a typical raw pair
    got = explain(driver, database, "u0", "t8")
    assert [r["kind"] for r in got] == ["kg"]
    assert explain(driver, database, "u1", "t3")[1]["kind"] == "audio"  # the same query can say it


def test_uncalibrated_features_give_no_modality_reason(calibrated, driver, database):
    """A vector rewritten after the publish loses its calibrated copy: no reason from it until
    the next publish calibrates it again."""
    _, vectors = calibrated
    row = {"track": "t3", "id": feature_id("t3", AUDIO), "vector": vectors[3].tolist(), "summary": {}}
    props = {"name": AUDIO, "dim": DIM, "extractor": "test", "version": "1", "source": "test"}
    try:
        run_batches(driver, database, render("merge_features", kind=Modality.AUDIO), [row],
                    batch_size=1, params={"props": props})
        assert [r["kind"] for r in explain(driver, database, "u1", "t3")] == ["kg"]
    finally:
        driver.execute_query("MATCH (f:Feature {id: $id}) SET f.calibrated = $z",
                             {"id": row["id"], "z": _calibrated(vectors)[3].tolist()},
                             database_=database)
    assert [r["kind"] for r in explain(driver, database, "u1", "t3")] == ["kg", "audio"]


def test_explain_raises_no_notifications(calibrated, settings, database):
    """On a driver that reports every notification (mmkg's own has them off)."""
    with GraphDatabase.driver(settings.neo4j.bolt_uri, auth=(settings.neo4j.user, settings.password()),
                              notifications_min_severity="INFORMATION") as loud:
        for user, track in (("u1", "t3"), ("u0", "t8"), ("u0", None)):
            records, summary, _ = loud.execute_query(load_query("explain"), {
                "userId": user, "likedTrackIds": None, "similarTo": None, "explainedTrackId": track,
                "limit": 5},
                database_=database)
            notes = [s.status_description for s in summary.gql_status_objects if s.is_notification]
            assert records and notes == [], (user, track)


@pytest.mark.usefixtures("uri_scheme")
def test_cli_recommend_explain_prints_modality_reasons(calibrated):
    out = CliRunner().invoke(cli, ["recommend", "u1", "--k", "8", "--explain", "--json"])
    assert out.exit_code == 0, out.output
    t3 = next(row for row in json.loads(out.output) if row["trackId"] == "t3")
    assert t3["reasonKinds"] == ["kg", "audio"]
    assert t3["reasons"][1] == "sounds like 'Song 1' (closer than 99 % of track pairs)"
    out = CliRunner().invoke(cli, ["recommend", "u1", "--k", "8", "--explain"])
    assert out.exit_code == 0, out.output
    assert "- sounds like 'Song 1' (closer than 99 % of track pairs)" in out.output


@pytest.mark.usefixtures("uri_scheme")
def test_cli_cold_start_explains_sound_through_a_liked_track(calibrated):
    """Someone known only by liking t1 is told that t3 sounds like it (t1's planted twin)."""
    out = CliRunner().invoke(cli, ["recommend", "--like", "t1", "--k", "11", "--explain", "--json"])
    assert out.exit_code == 0, out.output
    t3 = next(row for row in json.loads(out.output) if row["trackId"] == "t3")
    assert t3["reasons"][t3["reasonKinds"].index("audio")] == (
        "sounds like 'Song 1' (closer than 99 % of track pairs)")
    t8 = next(row for row in json.loads(out.output) if row["trackId"] == "t8")
    assert "audio" not in t8["reasonKinds"]


@pytest.mark.usefixtures("uri_scheme")
def test_cli_similar_explains_sound_with_the_track_itself(calibrated):
    """t3 is t1's planted audio twin: `mmkg similar t1 --explain` says it sounds like t1."""
    out = CliRunner().invoke(cli, ["similar", "t1", "--k", "11", "--explain", "--json"])
    assert out.exit_code == 0, out.output
    t3 = next(row for row in json.loads(out.output) if row["trackId"] == "t3")
    assert t3["reasons"][t3["reasonKinds"].index("audio")] == (
        "sounds like 'Song 1' (closer than 99 % of track pairs)")
    out = CliRunner().invoke(cli, ["similar", "t1", "--k", "11", "--explain"])
    assert out.exit_code == 0, out.output
    assert "- sounds like 'Song 1' (closer than 99 % of track pairs)" in out.output


def test_sample_pairs_all_or_seeded_uniform():
    assert sample_pairs(4, 6, seed=0).tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    drawn = sample_pairs(1000, 5000, seed=1)
    assert drawn.shape == (5000, 2) and (drawn[:, 0] != drawn[:, 1]).all()
    assert (drawn == sample_pairs(1000, 5000, seed=1)).all()
    assert not (drawn == sample_pairs(1000, 5000, seed=2)).all()
    with pytest.raises(ValueError, match="quantile"):
        CalibrationConfig(quantile=1.0)
