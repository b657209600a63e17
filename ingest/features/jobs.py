"""Feature extraction in worker processes: :func:`run_jobs` spreads :class:`Job` s — a chunk of
files of one media kind — over a process pool and yields each :class:`JobResult` as it is done.

A worker checks each file (:func:`~mmkg.ingest.features.media.check_stored_media`: real path,
size caps, decodes), fingerprints it, and runs every extractor of the kind on the chunk at once
(MiniLM encodes the chunk's lyrics in batches).

A worker's first chunk of a kind pays that kind's first-call costs (librosa's imports and numba
functions: ~1.3 CPU s; the ONNX Runtime session), so each worker keeps to one kind while it has
chunks and kinds are spread over workers (:class:`KindChooser`): on 2 workers, one extracts lyrics
and the other audio, and covers fill in, instead of every worker warming up every kind.

Workers come from a ``forkserver``: forked from a clean server process that imported the
extractor libraries once (not from the caller, whose threads — Neo4j driver, OpenMP — a plain
``fork`` would copy half-alive), so a pool starts in well under a second after the first. Each
worker limits its math libraries to ``cpus // workers`` threads, so the workers do not fight over
cores. With one worker, or one job, everything runs in the calling process.

Before any job runs, the extractors' warm-ups run once in the calling process (librosa's numba
functions compiled, MiniLM's model built), one process at a time on the machine, so workers and
other processes only read what they made (:func:`warm_up_extractors`). A worker
that dies anyway costs its chunks a retry, one at a time; a chunk that kills its worker twice is
reported, and every other chunk still runs (:func:`run_jobs`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import audioread.exceptions

from mmkg.config import MEDIA, MediaSettings
from mmkg.ingest.features.extract import extract
from mmkg.ingest.features.media import check_stored_media, file_fingerprint
from mmkg.ingest.features.registry import chosen_extractors
from mmkg.ingest.featureset import FeatureSet

log = logging.getLogger(__name__)
DECODE_ERRORS = (OSError, RuntimeError, ValueError, EOFError, audioread.exceptions.DecodeError)
"""What decoders raise for a file that passed the checks but is broken further in (librosa falls
back to audioread for a file libsndfile gives up on, e.g. a truncated FLAC: ``NoBackendError``)."""
PRELOAD = ["mmkg.ingest.features", "librosa", "soundfile", "PIL.Image", "onnxruntime", "tokenizers"]
"""Imported once by the forkserver, so that workers start with them loaded."""
IN_FLIGHT_PER_WORKER = 2
"""Jobs queued per worker: enough to keep it busy, few enough to keep memory flat."""


@dataclass(frozen=True)
class Job:
    """Files ``rows[i] = (track_id, absolute path)`` of media ``kind``."""

    kind: str
    rows: list[tuple[str, str]]


@dataclass
class JobResult:
    """What a job made: one feature set per extractor of ``kind`` (rows: the files that
    decoded), their files' ``(path, fingerprint)`` by track id, and one warning per file skipped."""

    kind: str
    tracks: int
    sets: list[FeatureSet] = field(default_factory=list)
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0
    """CPU time the job took in its process (all threads)."""
    error: str | None = None
    """Why the job made nothing (its worker died, see :func:`run_jobs`); ``None`` when it ran."""


Work = Callable[[Job, MediaSettings], JobResult]
"""What a worker runs for one job: :func:`run_job`."""


def run_job(job: Job, settings: MediaSettings) -> JobResult:
    """Check, fingerprint and extract the files of ``job`` (a file that fails is skipped with a
    warning; the others are kept) under the media limits ``settings``."""
    started = time.process_time()
    result = _run_job(job, settings)
    result.cpu_seconds = time.process_time() - started
    return result


def _run_job(job: Job, settings: MediaSettings) -> JobResult:
    result = JobResult(job.kind, len(job.rows))
    good: list[tuple[str, Path]] = []
    for track_id, path in job.rows:
        problem = check_stored_media(job.kind, Path(path), settings)
        if problem is None:
            try:
                result.sources[track_id] = (path, file_fingerprint(path))
            except OSError as e:
                problem = f"cannot read {path}: {e.strerror}"
        if problem:
            result.warnings.append(f"track {track_id}: {problem}")
        else:
            good.append((track_id, Path(path)))
    if not good:
        return result
    ids, paths = [t for t, _ in good], [p for _, p in good]
    try:
        result.sets = extract(job.kind, paths, ids, settings)
        return result
    except DECODE_ERRORS:
        pass
    # one file broke the chunk: extract one by one to keep the others
    for track_id, path in good:
        try:
            result.sets.extend(extract(job.kind, [path], [track_id], settings))
        except DECODE_ERRORS as e:
            result.warnings.append(f"track {track_id}: cannot extract {job.kind} features from "
                                   f"{path}: {e}")
            result.sources.pop(track_id, None)
    result.sets = _merge(result.sets)
    return result


def run_jobs(jobs: list[Job], settings: MediaSettings, workers: int, *,
             work: Work = run_job) -> Iterator[JobResult]:
    """Run ``jobs`` on ``workers`` processes (in this process when one suffices); yield each
    result as soon as it is done (not in job order).

    First every due extractor's warm-up runs here (:func:`warm_up_extractors`, under a lock that
    other mmkg processes share), so workers load numba's cache and the model instead of all
    making them at once.
    A worker that dies (a crash in a decoder, the OOM killer) breaks the pool: the jobs it had
    in flight are run again one at a time in a fresh pool, so that a job that kills its worker
    again is told apart from its innocent neighbours; that job comes back with
    :attr:`JobResult.error` set, every other job runs as usual. ``work`` runs one job (a
    module-level function, as workers import it by name).
    """
    workers = max(1, min(workers, len(jobs)))
    warm_up_extractors({job.kind for job in jobs}, settings)
    if workers == 1:
        for job in jobs:
            yield work(job, settings)
        return
    queue = deque(jobs)
    while queue:
        lost = yield from _run_pool(queue, settings, workers, work)
        for job in lost:  # each alone: the one that dies again is the culprit
            if (yield from _run_pool(deque([job]), settings, 1, work)):
                yield JobResult(job.kind, len(job.rows), error=(
                    f"a feature worker died twice while extracting {describe_job(job)}"))


def _forkserver() -> multiprocessing.context.BaseContext:
    """The ``forkserver`` context, its server running with :data:`PRELOAD` imported.

    The server is a ``python -c`` process, so its ``sys.path`` starts with the current folder
    (Python 3.11 does not give it the caller's path): a folder named ``mmkg`` there (the parent of
    a checkout) would shadow the installed package in every worker. It is started under
    ``PYTHONSAFEPATH=1``, which leaves the current folder out."""
    import multiprocessing.forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    before = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if before is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = before
    return context


def _run_pool(queue: deque[Job], settings: MediaSettings, workers: int,
              work: Work) -> Generator[JobResult, None, list[Job]]:
    """Run the jobs of ``queue`` (taken from it in the order :class:`KindChooser` picks) on
    ``workers`` processes, yielding each result; return the jobs that were in flight when a
    worker died (empty when the queue ran dry), leaving the ones not yet started in ``queue``.

    Each worker is a one-process executor of its own (a *lane*), so that the next job of a
    worker can be chosen; a worker that dies stops every lane from taking new jobs."""
    context = _forkserver()
    threads = max(1, available_cpus() // workers)
    chooser = KindChooser(workers)
    lost: list[Job] = []
    with contextlib.ExitStack() as stack:
        lanes = [stack.enter_context(ProcessPoolExecutor(
            1, mp_context=context, initializer=_limit_threads, initargs=(threads,)))
            for _ in range(workers)]
        running: dict[Future, tuple[int, Job]] = {}
        while True:
            for lane, pool in enumerate(lanes):
                in_flight = sum(1 for busy, _ in running.values() if busy == lane)
                while queue and not lost and in_flight < IN_FLIGHT_PER_WORKER:
                    job = chooser.take(queue, lane)
                    if job is None:
                        break
                    try:
                        running[pool.submit(work, job, settings)] = (lane, job)
                    except BrokenProcessPool:  # broke before a future said so: take it back
                        queue.appendleft(job)
                        break
                    in_flight += 1
            if not running:
                if lost:
                    log.warning("a feature worker died; running the %d chunk(s) it left "
                                "unfinished again, one at a time", len(lost))
                return lost
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                lane, job = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    lost.append(job)
                    continue
                chooser.record(lane, job, result)
                yield result


class KindChooser:
    """Which job each of ``lanes`` workers runs next: a worker keeps to its media kind while
    jobs of it are left, so that few workers pay a kind's first-call costs.

    A worker without a kind, or whose kind ran out, takes the kind with the most work left
    among those no other worker holds; a worker also leaves its kind for one that no worker
    holds and that has more than ``SWITCH`` times its kind's work left. The work left of a kind
    is its queued tracks times its CPU seconds per track so far, unbounded while none of its jobs
    has finished: so a worker that started on a kind that turns out cheap (covers) moves on to a
    kind nobody has measured yet (audio) after its first job. When every kind left is held by
    another worker, a worker joins one it has run before, or one whose work left exceeds ``JOIN``
    times its first-call cost (a worker's first job of the kind less a later one, 0 until both
    are measured); else it waits, and the workers holding the kinds finish them."""

    SWITCH = 2.0
    JOIN = 2.0

    def __init__(self, lanes: int) -> None:
        self.held: list[str | None] = [None] * lanes
        self.given: list[set[str]] = [set() for _ in range(lanes)]
        self.recorded: list[set[str]] = [set() for _ in range(lanes)]
        self.cpu: Counter[str] = Counter()
        self.tracks: Counter[str] = Counter()
        self.first: dict[str, list[tuple[float, int]]] = {}

    def record(self, lane: int, job: Job, result: JobResult) -> None:
        """Learn from ``result`` of ``job`` on worker ``lane``: the CPU seconds per track of its
        kind, and (the worker's first job of the kind) what the kind's first call costs."""
        self.cpu[job.kind] += result.cpu_seconds
        self.tracks[job.kind] += len(job.rows)
        if job.kind not in self.recorded[lane]:
            self.recorded[lane].add(job.kind)
            self.first.setdefault(job.kind, []).append((result.cpu_seconds, len(job.rows)))

    def first_call_cost(self, kind: str) -> float:
        """CPU seconds a worker's first job of ``kind`` took beyond a later one's (per job, mean
        over workers); 0 until a first and a later job of the kind have finished."""
        first = self.first.get(kind, [])
        later_tracks = self.tracks[kind] - sum(tracks for _, tracks in first)
        if not first or later_tracks <= 0:
            return 0.0
        rate = (self.cpu[kind] - sum(cpu for cpu, _ in first)) / later_tracks
        return max(0.0, sum(cpu - tracks * rate for cpu, tracks in first) / len(first))

    def take(self, queue: deque[Job], lane: int) -> Job | None:
        """Remove from ``queue`` (not empty) and return the next job of worker ``lane``: the
        first job of the kind chosen as above (ties: the kind that comes first in ``queue``);
        ``None`` when the worker should wait."""
        left: Counter[str] = Counter()
        for job in queue:
            left[job.kind] += len(job.rows)
        work = {kind: (tracks * self.cpu[kind] / self.tracks[kind] if self.tracks[kind]
                       else math.inf) for kind, tracks in left.items()}
        others = {kind for i, kind in enumerate(self.held) if i != lane}
        free = [kind for kind in work if kind not in others] or [
            kind for kind in work
            if kind in self.given[lane] or work[kind] > self.JOIN * self.first_call_cost(kind)]
        if not free:
            return None
        best = max(free, key=work.__getitem__)
        mine = self.held[lane]
        if mine in free and not work[best] > self.SWITCH * work[mine]:
            best = mine
        self.held[lane] = best
        self.given[lane].add(best)
        index = next(i for i, job in enumerate(queue) if job.kind == best)
        job = queue[index]
        del queue[index]
        return job


def warm_up_lock() -> Path:
    """The file whose exclusive lock :func:`warm_up_extractors` holds: one per user and machine,
    as numba's cache is (``NUMBA_CACHE_DIR``, else ``__pycache__`` beside librosa's sources)."""
    return Path(tempfile.gettempdir()) / f"mmkg-{os.getuid()}-warm-up.lock"


def warm_up_extractors(kinds: set[str], settings: MediaSettings = MEDIA) -> None:
    """Run the warm-up of every extractor of ``kinds`` that ``settings`` chooses and that has
    one, in this process, holding :func:`warm_up_lock`: what would otherwise happen in every
    worker at once on a first run (MiniLM's ONNX model or the static word-piece table is built,
    librosa's functions compiled).

    librosa compiles its numba functions on first call and writes them to numba's cache. On an
    empty cache, two workers that compiled them themselves (having extracted lyrics and covers
    first) crashed with a segfault on every first run; compiled here first, the cache is complete
    before any worker exists, and workers only load it. Two *processes* that compile at once (two
    ``mmkg ingest`` started seconds apart on a fresh machine) leave a cache that crashes the first
    of them and every later process that loads it, until the cache is deleted; the lock makes the
    second wait (~20 s on 2 cores) and then load what the first wrote.
    """
    with open(warm_up_lock(), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for kind in sorted(kinds):
            for extractor in chosen_extractors(kind, settings):
                if extractor.warm_up is not None:
                    extractor.warm_up()


def describe_job(job: Job) -> str:
    """``"the audio chunk of 50 track(s) t1 … t50"``: a job as an error names it."""
    first, last = job.rows[0][0], job.rows[-1][0]
    span = first if first == last else f"{first} … {last}"
    return f"the {job.kind} chunk of {len(job.rows)} track(s) {span}"


def available_cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _limit_threads(threads: int) -> None:
    """Worker initialiser: ``threads`` threads for BLAS/OpenMP, and for torch when the worker
    has it loaded. No extractor runs on torch, so it is not imported here (that cost each worker
    ~0.8 CPU s); one imported later (the MiniLM export) reads ``OMP_NUM_THREADS``, set first."""
    from threadpoolctl import threadpool_limits

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    threadpool_limits(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _merge(sets: list[FeatureSet]) -> list[FeatureSet]:
    """Feature sets of the same feature (one per file) joined into one per feature, in order."""
    import numpy as np

    merged: dict[str, FeatureSet] = {}
    for fs in sets:
        if fs.name not in merged:
            merged[fs.name] = FeatureSet(fs.name, fs.kind, fs.extractor, fs.version, fs.source,
                                         list(fs.track_ids), fs.vectors)
        else:
            into = merged[fs.name]
            into.track_ids.extend(fs.track_ids)
            into.vectors = np.concatenate([into.vectors, fs.vectors])
    return list(merged.values())
