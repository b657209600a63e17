"""Feature workers: a first run on an empty numba cache (one run with two workers; two processes
warming up at once), a worker that dies mid-run, which kind each worker runs next, and what a
worker imports.

The first test runs the real ``mmkg features`` in a subprocess (numba reads ``NUMBA_CACHE_DIR``
when it is imported) with two workers, every media kind and small chunks on an empty cache:
workers that compiled librosa's functions themselves (after extracting lyrics and covers) died
with a segfault on such runs, and the chunks they held were only saved by the retry of
:func:`~mmkg.ingest.features.jobs.run_jobs`; so the test also requires that no worker died.
"""

from __future__ import annotations

import collections
import functools
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

from mmkg.config import MEDIA
from mmkg.errors import FeatureError
from mmkg.ingest.features import compute, jobs
from mmkg.sample_catalog import generate_sample_catalog
from tests.conftest import ROOT, count
from tests.feature_work import DOOMED, run_job_and_report_torch, run_job_or_die


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalog")
    generate_sample_catalog(root, tracks=12, users=3, seed=11, media=True, overwrite=True)
    return root


def tracks_with_media(driver, database, catalog) -> list[str]:
    """Create one Track per catalog track with its absolute media paths; return their ids."""
    tracks = pd.read_csv(catalog / "tracks.csv").dropna(subset=["lyrics"])
    rows = [{"id": t.id,
             **{kind: str((catalog / getattr(t, kind)).resolve())
                for kind in ("lyrics", "cover", "audio")}}
            for t in tracks.itertuples()]
    driver.execute_query("UNWIND $rows AS row CREATE (t:Track) SET t = row",
                         rows=rows, database_=database)
    return [r["id"] for r in rows]


def test_two_workers_on_an_empty_numba_cache(empty_db, database, catalog, tmp_path):
    tracks = tracks_with_media(empty_db, database, catalog)
    numba_cache = tmp_path / "numba"
    numba_cache.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "mmkg", "features", "--workers", "2",
         "--tracks-per-job", "2", "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NUMBA_CACHE_DIR": str(numba_cache)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "worker died" not in done.stderr, done.stderr[-3000:]  # no crash, retried or not
    assert re.search(rf"audio_librosa +{len(tracks)} vectors written", done.stdout), done.stdout
    assert any(numba_cache.rglob("*.nbi")), "librosa's functions were not cached"


def test_workers_start_from_a_folder_that_holds_a_folder_named_mmkg(empty_db, database, catalog, tmp_path):
    """The parent of a checkout holds ``mmkg/``: the forkserver (``python -c``, whose path starts
    with the current folder) imported it instead of the package, and every worker died."""
    tracks = tracks_with_media(empty_db, database, catalog)
    (tmp_path / "mmkg").mkdir()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("mmkg")), "features", "--workers", "2", "--no-progress"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "worker died" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert re.search(rf"lyrics_minilm +{len(tracks)} vectors written", done.stdout), done.stdout


WARM_UP = "from mmkg.ingest.features.jobs import warm_up_extractors; warm_up_extractors({'audio'})"


def test_two_processes_that_warm_up_at_once_leave_a_numba_cache_that_loads(tmp_path):
    """Two ``mmkg ingest`` seconds apart on a fresh machine: without the warm-up lock the first
    crashed with a segfault, and so did every later process that loaded the cache they wrote."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    warm_up = [sys.executable, "-c", WARM_UP]
    first = subprocess.Popen(warm_up, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    time.sleep(2)  # the second starts while the first compiles (~20 s on 2 cores)
    second = subprocess.run(warm_up, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    first_err = first.communicate(timeout=600)[1]
    later = subprocess.run(warm_up, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert [first.returncode, second.returncode, later.returncode] == [0, 0, 0], \
        (first_err + second.stderr + later.stderr)[-3000:]
    assert any(tmp_path.rglob("*.nbi")), "librosa's functions were not cached"


def _job(*tracks: str) -> jobs.Job:
    return jobs.Job("cover", [(t, f"/nonexistent/{t}.png") for t in tracks])


def test_a_chunk_that_kills_its_worker_is_named_and_the_others_run():
    work = [_job("a", "b"), _job("c", DOOMED), _job("e", "f"), _job("g"), _job("h", "i")]
    results = list(jobs.run_jobs(work, MEDIA, 2, work=run_job_or_die))
    failed = [r for r in results if r.error]
    assert [r.error for r in failed] == [
        f"a feature worker died twice while extracting the cover chunk of 2 track(s) c … {DOOMED}"]
    ran = sorted(r.tracks for r in results if not r.error)
    assert ran == [1, 2, 2, 2] and len(results) == len(work)
    # every other chunk ran (and found its made-up file missing)
    warned = {w.split(":")[0] for r in results for w in r.warnings}
    assert warned == {f"track {t}" for t in "abefghi"}


def test_workers_extract_without_importing_torch(catalog):
    """No extractor runs on torch: a worker that imported it (0.8 CPU s) only lost time."""
    tracks = pd.read_csv(catalog / "tracks.csv").dropna(subset=["lyrics"])
    rows = [(t.id, str((catalog / t.lyrics).resolve())) for t in tracks.itertuples()]
    work = [jobs.Job("lyrics", rows[:2]), jobs.Job("lyrics", rows[2:4])]
    results = list(jobs.run_jobs(work, MEDIA, 2, work=run_job_and_report_torch))
    assert [r.warnings for r in results] == [["torch loaded: False"]] * 2
    assert all(len(r.sets) == 2 for r in results)


def test_workers_keep_to_a_kind_and_spread_kinds_over_workers():
    """Two workers, chunks of lyrics, covers and audio interleaved: each keeps to one kind; the
    one that started on covers leaves them for audio once a cover chunk shows covers are cheap
    (audio, unmeasured, may hold more work); a worker whose kind ran out takes one no worker
    holds, and joins a held one only when nothing else is left."""
    queue = collections.deque(jobs.Job(kind, [(f"{kind}{i}", "f")] * 4)
                              for i in range(3) for kind in ("lyrics", "cover", "audio"))
    chooser = jobs.KindChooser(2)
    first = [chooser.take(queue, 0), chooser.take(queue, 1)]
    assert [j.kind for j in first] == ["lyrics", "cover"]
    assert chooser.take(queue, 1).kind == "cover"  # no cost known yet: keeps its kind
    chooser.record(1, first[1], jobs.JobResult("cover", 4, cpu_seconds=0.02))
    chooser.record(0, first[0], jobs.JobResult("lyrics", 4, cpu_seconds=0.5))
    assert chooser.take(queue, 1).kind == "audio"  # cheap covers left for a kind nobody holds
    assert [chooser.take(queue, 0).kind for _ in range(2)] == ["lyrics", "lyrics"]
    assert chooser.take(queue, 0).kind == "cover"  # lyrics ran out: the kind nobody holds
    assert chooser.take(queue, 1).kind == "audio"
    assert chooser.take(queue, 0).kind == "audio"  # nothing else left, first call unmeasured
    assert not queue


def test_a_worker_waits_rather_than_pay_a_first_call_for_little_work():
    """Audio's first chunk on a worker took 1.5 CPU s, a later one 0.2 s: a worker that never
    ran audio joins only while more than twice those 1.3 s of audio work are queued."""
    queue = collections.deque(jobs.Job("audio", [(f"a{i}", "f")] * 4) for i in range(12))
    chooser = jobs.KindChooser(2)
    chooser.held[0] = "lyrics"  # ran out of lyrics
    first, later = chooser.take(queue, 1), chooser.take(queue, 1)
    chooser.record(1, first, jobs.JobResult("audio", 4, cpu_seconds=1.5))
    chooser.record(1, later, jobs.JobResult("audio", 4, cpu_seconds=0.2))
    assert chooser.first_call_cost("audio") == pytest.approx(1.3)
    # 10 jobs queued at (1.5 + 0.2) / 8 CPU s per track: 8.5 s of work > 2 × 1.3 s
    assert chooser.take(queue, 0).kind == "audio"
    while len(queue) > 3:
        chooser.take(queue, 1)
    assert chooser.take(queue, 0).kind == "audio"  # it has run audio now: no first call
    chooser.given[0].clear()  # a worker that has not: 2 jobs, 1.7 s < 2 × 1.3 s
    assert chooser.take(queue, 0) is None and len(queue) == 2
    assert chooser.take(queue, 1).kind == "audio"  # the holder takes them


def test_a_worker_death_keeps_the_other_chunks_and_a_rerun_resumes(
        empty_db, database, catalog, monkeypatch):
    driver = empty_db
    tracks = tracks_with_media(driver, database, catalog)
    driver.execute_query("MATCH (t:Track {id: $id}) SET t.id = $doomed",
                         id=tracks[3], doomed=DOOMED, database_=database)
    monkeypatch.setattr(compute, "run_jobs", functools.partial(jobs.run_jobs, work=run_job_or_die))
    with pytest.raises(FeatureError, match=r"^a feature worker died twice while extracting the "
                       rf"cover chunk of 2 track\(s\) (\S+ … )?{DOOMED}( … \S+)?; every other "
                       r"chunk was written, and `mmkg features` computes what is still missing$"):
        compute.compute_missing_features(driver, database, only=["cover"], batch_size=2,
                                         workers=2, progress=False)
    n = "MATCH (:Track)-[:HAS_FEATURE]->(f:Feature {name: 'cover_color'}) RETURN count(f) AS n"
    assert count(driver, database, n) == len(tracks) - 2

    monkeypatch.undo()
    assert compute.compute_missing_features(driver, database, only=["cover"], workers=2,
                                            progress=False) == {"cover_color": 2}
    assert count(driver, database, n) == len(tracks)


def test_when_no_chunk_could_be_extracted_the_error_says_nothing_was_written(
        empty_db, database, catalog, monkeypatch):
    """Workers that cannot start at all (they died on every chunk): no "every other chunk was
    written", since none was."""
    tracks_with_media(empty_db, database, catalog)

    def every_worker_dies(chunks, settings, workers):
        for job in chunks:
            yield jobs.JobResult(job.kind, len(job.rows), error=f"a feature worker died twice "
                                                                 f"while extracting {job.kind}")
    monkeypatch.setattr(compute, "run_jobs", every_worker_dies)
    with pytest.raises(FeatureError, match=r"^a feature worker died twice while extracting cover "
                       r"\(and \d+ more chunk\(s\)\); no chunk could be extracted, so nothing was written$"):
        compute.compute_missing_features(empty_db, database, only=["cover"], batch_size=2,
                                         workers=2, progress=False)


def test_a_file_gone_is_skipped_until_drop_missing_takes_it_from_its_track(empty_db, database, catalog,
                                                                          caplog):
    """A cover deleted after ingest: each run skips it with a warning and keeps the features it
    had; ``drop_missing`` removes the track's cover path and cover features (nothing else), and
    later runs have nothing to say about it."""
    driver = empty_db
    tracks = tracks_with_media(driver, database, catalog)
    assert compute.compute_missing_features(driver, database, only=["cover"], workers=1,
                                            progress=False) == {"cover_color": len(tracks)}
    driver.execute_query("MATCH (t:Track {id: $id}) SET t.cover = '/nonexistent/cover.png'",
                         id=tracks[0], database_=database)
    features = ("MATCH (t:Track {id: $id}) OPTIONAL MATCH (t)-[:HAS_FEATURE]->(f) "
                "RETURN t.cover AS cover, t.lyrics AS lyrics, collect(f.name) AS names")

    kept = compute.compute_missing_features(driver, database, only=["cover"], workers=1, progress=False)
    assert kept.skipped == 1 and kept.dropped == 0
    assert "cover_color" in driver.execute_query(features, id=tracks[0], database_=database).records[0]["names"]

    with caplog.at_level("WARNING"):
        dropped = compute.compute_missing_features(driver, database, only=["cover"], workers=1,
                                                   progress=False, drop_missing=True)
    assert (dropped.skipped, dropped.dropped) == (0, 1)
    assert f"dropped the cover path and cover features of 1 track(s) whose file is gone: {tracks[0]}" \
        in caplog.text
    record = driver.execute_query(features, id=tracks[0], database_=database).records[0]
    assert record["cover"] is None and record["lyrics"] and record["names"] == []
    n = "MATCH (:Track)-[:HAS_FEATURE]->(f:Feature {name: 'cover_color'}) RETURN count(f) AS n"
    assert count(driver, database, n) == len(tracks) - 1
    again = compute.compute_missing_features(driver, database, only=["cover"], workers=1, progress=False)
    assert (again.skipped, again.dropped, dict(again)) == (0, 0, {"cover_color": 0})


def test_a_truncated_flac_is_skipped_with_one_warning_and_the_others_extracted(catalog, tmp_path):
    """libsndfile gives up on a truncated FLAC that passed the checks, and librosa's fallback
    (audioread) raises ``NoBackendError``: the file is skipped, the rest of its chunk kept."""
    t = np.arange(22050 * 40) / 22050
    whole = tmp_path / "whole.flac"
    soundfile.write(whole, 0.3 * np.sin(2 * np.pi * 440 * t), 22050)
    truncated = tmp_path / "truncated.flac"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    good = sorted((catalog / "media").rglob("*.wav"))[:2]
    job = jobs.Job("audio", [("a", str(good[0])), ("bad", str(truncated)), ("b", str(good[1]))])
    result = jobs.run_job(job, MEDIA)
    assert [fs.track_ids for fs in result.sets] == [["a", "b"]]
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith(f"track bad: cannot extract audio features from {truncated}")
