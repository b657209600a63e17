"""A publish reuses the latest calibration of a feature name when its input is unchanged
(``publish/calibrate.py``: digest of the settings, ids and raw vectors; every vector still with
its calibrated copy; the latest calibration by ``Model.calibration_seq``), and recomputes it
otherwise, including after a publish that failed half-way through writing calibrated vectors."""

from __future__ import annotations

import numpy as np
import pytest

from mmkg.errors import DatabaseError
from mmkg.graph import render, run_batches
from mmkg.publish import calibrate
from mmkg.publish.calibrate import CalibrationConfig, calibrate_features
from mmkg.publish.writer import publish
from mmkg.schema import Modality, feature_id
from tests.demo_graph import N_TRACKS, build_demo_graph, track_id, write_run

NAME, DIM = "audio_reuse", 8
PROPS = {"name": NAME, "dim": DIM, "extractor": "test", "version": "1", "source": "test"}


def merge_features(driver, database, vectors: np.ndarray, tracks: range | list[int]) -> None:
    rows = [{"track": track_id(i), "id": feature_id(track_id(i), NAME), "vector": vectors[i].tolist(),
             "summary": {}} for i in tracks]
    run_batches(driver, database, render("merge_features", kind=Modality.AUDIO), rows, batch_size=50,
                params={"props": PROPS})


def expected(vectors: np.ndarray) -> np.ndarray:
    z = (vectors - vectors.mean(axis=0)) / vectors.std(axis=0)
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def stored(driver, database) -> np.ndarray:
    records, _, _ = driver.execute_query(
        "MATCH (t:Track)-[:HAS_FEATURE]->(f:Feature {name: $n}) RETURN t.id AS id, f.calibrated AS z",
        {"n": NAME}, database_=database)
    by_id = {r["id"]: r["z"] for r in records}
    return np.array([by_id[track_id(i)] for i in range(N_TRACKS)], dtype=float)


@pytest.fixture()
def catalog(empty_db, database):
    build_demo_graph(empty_db, database)
    vectors = np.random.default_rng(5).normal(size=(N_TRACKS, DIM)) + 2.0
    merge_features(empty_db, database, vectors, range(N_TRACKS))
    return vectors


def test_an_unchanged_catalog_reuses_the_latest_calibration(empty_db, database, catalog, tmp_path):
    first = publish(empty_db, database, write_run(tmp_path / "run-a"), progress=False)
    second = publish(empty_db, database, write_run(tmp_path / "run-b", seed=1), progress=False)
    [a], [b] = first.calibrations, second.calibrations
    assert not a.reused and b.reused
    assert (b.threshold, b.percentiles, b.pairs, b.digest, b.tracks) == \
        (a.threshold, a.percentiles, a.pairs, a.digest, N_TRACKS)
    [row] = empty_db.execute_query(
        "MATCH (m:Model {current: true}) RETURN m.calibration_thresholds AS t, "
        "m.calibration_digests AS d, m.calibration_seq AS seq", database_=database).records
    assert (row["t"], row["d"], row["seq"]) == ([a.threshold], [a.digest], 2)
    assert stored(empty_db, database) == pytest.approx(expected(catalog), abs=1e-9)


def test_a_changed_or_rewritten_vector_is_recalibrated(empty_db, database, catalog, tmp_path):
    first = publish(empty_db, database, write_run(tmp_path / "run-a"), progress=False)
    merge_features(empty_db, database, catalog, [3])  # same vector, calibrated copy removed
    again = publish(empty_db, database, write_run(tmp_path / "run-b", seed=1), progress=False)
    assert not again.calibrations[0].reused
    assert again.calibrations[0].digest == first.calibrations[0].digest
    assert stored(empty_db, database) == pytest.approx(expected(catalog), abs=1e-9)
    changed = catalog.copy()
    changed[5] += 3.0
    merge_features(empty_db, database, changed, [5])
    third = publish(empty_db, database, write_run(tmp_path / "run-c", seed=2), progress=False)
    assert not third.calibrations[0].reused
    assert third.calibrations[0].digest != first.calibrations[0].digest
    assert stored(empty_db, database) == pytest.approx(expected(changed), abs=1e-9)


def fail_a_calibration_half_way(driver, database, catalog, model: str, monkeypatch) -> None:
    """Change one vector (catalog B, through ``merge_features``), let ``model``'s calibration
    fail after writing one page of calibrated vectors, then set the vector back to A's without
    ``merge_features``: every vector has a calibrated copy, a mix of A's and B's."""
    first = min(range(N_TRACKS), key=lambda i: feature_id(track_id(i), NAME))  # in the first page
    changed = catalog.copy()
    changed[first] += 3.0
    merge_features(driver, database, changed, [first])
    written = []

    def fail_after_one_page(*args, **kwargs):
        if written:
            raise DatabaseError("Neo4j went away (injected)")
        written.append(run_batches(*args, **kwargs))

    monkeypatch.setattr(calibrate, "run_batches", fail_after_one_page)
    with pytest.raises(DatabaseError):
        calibrate_features(driver, database, model, config=CalibrationConfig(), batch_size=4)
    monkeypatch.undo()
    driver.execute_query("MATCH (f:Feature {id: $id}) SET f.vector = $v",
                         {"id": feature_id(track_id(first), NAME), "v": catalog[first].tolist()},
                         database_=database)
    assert not np.allclose(stored(driver, database), expected(catalog), atol=1e-6)


def test_a_calibration_that_failed_half_way_is_never_reused(empty_db, database, catalog, tmp_path,
                                                           monkeypatch):
    """Catalog A calibrated; one vector changed (B) and a publish fails after writing the first
    page of B's calibrated vectors, that vector's among them; the vector is set back to A's
    without ``merge_features`` (so every vector has a calibrated copy, a mix of A's and B's, and
    the digest is A's again). The next publish must recompute: the latest calibration is the
    failed one, not A's."""
    publish(empty_db, database, write_run(tmp_path / "run-a"), progress=False)
    empty_db.execute_query("MERGE (m:Model {id: 'failed'}) SET m.complete = false",
                           database_=database)
    fail_a_calibration_half_way(empty_db, database, catalog, "failed", monkeypatch)
    after = publish(empty_db, database, write_run(tmp_path / "run-b", seed=1), progress=False)
    assert not after.calibrations[0].reused
    assert stored(empty_db, database) == pytest.approx(expected(catalog), abs=1e-9)


def test_republishing_the_same_version_reuses_its_own_calibration(empty_db, database, catalog,
                                                                  tmp_path, caplog):
    """The same run published again (a republish of the current model) with unchanged features:
    the latest calibration is the version's own, so it is reused, not recomputed, and the
    thresholds on the Model and the calibrated vectors stay exactly what they were."""
    def model_calibration() -> tuple:
        [row] = empty_db.execute_query(
            "MATCH (m:Model {current: true}) RETURN m.calibration_features AS f, "
            "m.calibration_thresholds AS t, m.calibration_percentiles AS p, m.calibration_pairs AS n, "
            "m.calibration_digests AS d, m.calibration_seq AS seq", database_=database).records
        return tuple(row.values())

    run = write_run(tmp_path / "run-a")
    first = publish(empty_db, database, run, progress=False)
    calibrated, recorded = stored(empty_db, database), model_calibration()
    with caplog.at_level("INFO", logger="mmkg.publish.calibrate"):
        again = publish(empty_db, database, run, progress=False)
    assert again.model_id == first.model_id
    [a], [b] = first.calibrations, again.calibrations
    assert not a.reused and b.reused
    assert (b.threshold, b.percentiles, b.pairs, b.digest, b.tracks) == \
        (a.threshold, a.percentiles, a.pairs, a.digest, N_TRACKS)
    assert f"calibrated {NAME}" in caplog.text and "(reused: its input is unchanged" in caplog.text
    assert model_calibration() == (*recorded[:-1], recorded[-1] + 1)  # seq: the latest again
    assert np.array_equal(stored(empty_db, database), calibrated)


def test_a_version_whose_own_calibration_failed_half_way_recalibrates(empty_db, database, catalog,
                                                                      tmp_path, monkeypatch):
    """A version calibrated (catalog A), then a re-publish of it fails half-way through writing
    the calibrated vectors of a changed catalog (B); the vector is set back to A's without
    ``merge_features``. The next publish of the same version must not reuse its own earlier
    calibration: its latest calibration is the failed one, which recorded none."""
    run = write_run(tmp_path / "run-a")
    model = publish(empty_db, database, run, progress=False).model_id
    fail_a_calibration_half_way(empty_db, database, catalog, model, monkeypatch)
    again = publish(empty_db, database, run, progress=False)
    assert again.model_id == model and not again.calibrations[0].reused
    assert stored(empty_db, database) == pytest.approx(expected(catalog), abs=1e-9)
