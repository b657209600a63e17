"""Compute, resumably, every feature a track in Neo4j lacks or holds stale:
``compute_missing_features``.

For each media kind (``lyrics``, ``cover``, ``audio``), ``cypher/tracks_missing_features.cypher``
lists the tracks with a file path in the property of that name (relative to the root of the
track's ``Catalog`` node, which the file is read from) and the state of the features computed
from it. A track's features of that kind are (re)computed when one is **missing**, was
made by another extractor **version**, or is **stale**: computed from another path, or from a
file whose size or content changed since (:func:`~mmkg.ingest.features.media.same_file` on the
``source_fingerprint`` stored beside the vector; features from before fingerprints count as
stale once). ``recompute=True`` recomputes everything. Only the features the ``media.features``
setting chooses are computed; registered ones it leaves out (another recipe of the same media,
e.g. ``lyrics_static`` beside ``lyrics_minilm``) are deleted first, so tracks never hold both.

The work runs as chunks on worker processes (:mod:`.jobs`); each chunk is written as soon as it
is done — vectors first (``merge_features``, which clears the old fingerprint), then the
fingerprints (``set_feature_sources``) — so an interrupted run loses at most the chunks in flight
and a re-run computes only what is still missing or stale.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from neo4j import Driver

from mmkg.config import BATCH, MEDIA, MediaSettings
from mmkg.errors import FeatureError
from mmkg.graph import load_query, read_named, read_rows, render, run_batches, run_implicit
from mmkg.ingest.features.jobs import Job, JobResult, available_cpus, run_jobs
from mmkg.ingest.features.media import same_file
from mmkg.ingest.features.registry import (EXTRACTORS, MEDIA_KINDS, Extractor, chosen_extractors,
                                           extractors, left_out_features)
from mmkg.ingest.writers import write_feature_sets
from mmkg.progress import progress_bar
from mmkg.schema import feature_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureInventory:
    """One feature as ``mmkg features --list`` shows it: ``extractor`` (None: a name the
    database holds that no extractor registers), whether the ``media.features`` setting has
    mmkg compute it (``chosen``), and how many vectors the database holds of it, at the
    registered version (``current``; every one of a name no extractor registers) and at any
    other (``other_versions``: recomputed by the next ``mmkg features``)."""

    name: str
    extractor: Extractor | None
    chosen: bool
    current: int
    other_versions: int


def feature_inventory(driver: Driver, database: str,
                      settings: MediaSettings = MEDIA) -> list[FeatureInventory]:
    """Every registered feature (registration order), then every other feature name the
    database holds (by name), with its vector counts (``cypher/count_features_by_version``).

    Raises:
        UnknownName: ``settings.features`` names a feature no extractor registers.
    """
    chosen = {e.spec.name for kind in MEDIA_KINDS.names() for e in chosen_extractors(kind, settings)}
    held = _held(driver, database)
    out = []
    for name in [*EXTRACTORS.names(), *sorted(set(held) - set(EXTRACTORS.names()), key=str)]:
        extractor = EXTRACTORS.get(name) if name in EXTRACTORS else None
        counts = held.get(name, {})
        current = counts.get(extractor.spec.version, 0) if extractor else sum(counts.values())
        out.append(FeatureInventory(name, extractor, name in chosen, current,
                                    sum(counts.values()) - current))
    return out


def _held(driver: Driver, database: str) -> dict[str, dict[str | None, int]]:
    """``{feature name: {extractor version: Feature nodes}}`` of the database."""
    held: dict[str, dict[str | None, int]] = {}
    for row in read_named(driver, database, "count_features_by_version"):
        held.setdefault(row["name"], {})[row["version"]] = row["n"]
    return held


class VectorsWritten(dict[str, int]):
    """Vectors written per feature name, the media files skipped with a warning, and the files
    dropped because they are gone."""

    skipped: int = 0
    """Files that failed a check or did not decode: their features are still missing or stale."""
    dropped: int = 0
    """Files gone from where the track says (``drop_missing``): the track's path and its features
    of that media were removed."""


SHOWN_WARNINGS = 5
"""Skipped files named one warning line each; the others are counted in the closing line."""


def compute_missing_features(driver: Driver, database: str, *,
                             batch_size: int = BATCH.features,
                             feature_rows: int = BATCH.feature_rows, progress: bool = True,
                             only: Iterable[str] | None = None, recompute: bool = False,
                             settings: MediaSettings = MEDIA,
                             workers: int | None = None,
                             drop_missing: bool = False) -> VectorsWritten:
    """Compute and write the features missing or stale on tracks that have media files.

    Args:
        driver, database: where the tracks live.
        batch_size: tracks per extraction chunk (each chunk is written once computed).
        feature_rows: most feature rows per write transaction.
        progress: show a progress bar (tracks/s, ETA) on stderr.
        only: media kinds to consider (default: every registered one).
        recompute: recompute every feature of those kinds, fresh or not.
        settings: the media limits, and the features to compute (``settings.features``);
            registered features of ``only``'s kinds that it leaves out are deleted first.
        workers: worker processes (default: ``settings.workers``, 0 meaning one per CPU).
        drop_missing: for a track whose media file is gone (its stored path, joined to its
            catalog's root, names no file), remove the path and the features of that media
            (``cypher/drop_track_media.cypher``) instead of warning that it was skipped: how a
            catalog takes a track's lyrics, cover or audio away (an empty cell keeps them).

    Returns:
        The number of vectors written per feature name (0 for features nothing was due for),
        and how many files were skipped: those that fail a check or do not decode, each with a
        one-line warning naming the file (and retried by the next run).

    Raises:
        ConfigError: ``settings.root`` is set and is not a folder.
        FeatureError: a chunk killed its worker process twice (see
            :func:`~mmkg.ingest.features.jobs.run_jobs`); every other chunk was computed and
            written first, so a re-run computes only that chunk's tracks.
    """
    settings.check_root()
    kinds = _kinds(only)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    workers = workers or settings.workers or available_cpus()
    chosen = {kind: chosen_extractors(kind, settings) for kind in kinds}
    _remove_left_out(driver, database, kinds, settings, feature_rows)
    due = {kind: _due(driver, database, kind, chosen[kind], recompute)
           for kind in kinds if chosen[kind]}  # a kind with no feature chosen has no work
    dropped = _drop_gone_files(driver, database, due, feature_rows) if drop_missing else 0
    todo = {kind: [(track, file) for track, _, file in rows] for kind, rows in due.items()}
    stored = {kind: {track: path for track, path, _ in rows} for kind, rows in due.items()}
    counts = VectorsWritten({e.spec.name: 0 for kind in kinds for e in chosen[kind]})
    counts.dropped = dropped
    failed: list[str] = []
    succeeded = 0
    with progress_bar("tracks", disable=not progress) as bar:
        tasks = {kind: bar.add_task(kind, total=len(rows)) for kind, rows in todo.items() if rows}
        for result in run_jobs(_interleaved(todo, batch_size), settings, workers):
            if result.error:
                failed.append(result.error)
            else:
                succeeded += 1
            _write(driver, database, result, stored[result.kind], feature_rows)
            for message in result.warnings[:max(0, SHOWN_WARNINGS - counts.skipped)]:
                log.warning("%s", message)
            counts.skipped += len(result.warnings)
            for fs in result.sets:
                counts[fs.name] += len(fs.track_ids)
            bar.advance(tasks[result.kind], result.tracks)
    if counts.skipped:
        unnamed = f" ({counts.skipped - SHOWN_WARNINGS:,} not named above)" \
            if counts.skipped > SHOWN_WARNINGS else ""
        log.warning("%d media file(s) were skipped%s; their features are still missing or stale "
                    "(`mmkg features --drop-missing` drops the files that are gone)",
                    counts.skipped, unnamed)
    if failed:
        more = f" (and {len(failed) - 1} more chunk(s))" if len(failed) > 1 else ""
        rest = ("every other chunk was written, and `mmkg features` computes what is still missing"
                if succeeded else "no chunk could be extracted, so nothing was written")
        raise FeatureError(f"{failed[0]}{more}; {rest}")
    return counts


def _drop_gone_files(driver: Driver, database: str, due: dict[str, list[tuple[str, str, str]]],
                     batch_size: int) -> int:
    """Drop the media whose file is gone from the tracks of ``due`` (and from ``due``); return
    how many (track, media) pairs were dropped, said in one warning per media kind."""
    dropped = 0
    for kind, rows in due.items():
        gone = [track for track, _, file in rows if not os.path.exists(file)]
        if not gone:
            continue
        run_batches(driver, database, render("drop_track_media", prop=kind), [{"id": t} for t in gone],
                    batch_size=batch_size, params={"names": [e.spec.name for e in extractors(kind)]})
        kept = set(gone)
        due[kind] = [row for row in rows if row[0] not in kept]
        dropped += len(gone)
        more = f" and {len(gone) - 3:,} more" if len(gone) > 3 else ""
        log.warning("dropped the %s path and %s features of %d track(s) whose file is gone: %s%s",
                    kind, kind, len(gone), ", ".join(gone[:3]), more)
    return dropped


def _kinds(only: Iterable[str] | None) -> list[str]:
    known = MEDIA_KINDS.names()
    kinds = list(known if only is None else only)
    unknown = sorted(set(kinds) - set(known))
    if unknown:
        raise ValueError(f"unknown media kind(s) {unknown}; expected {', '.join(known)}")
    return kinds


def _remove_left_out(driver: Driver, database: str, kinds: list[str], settings: MediaSettings,
                     batch_size: int) -> None:
    """Delete the features of ``kinds`` that are registered but not chosen by ``settings``
    (another recipe of the same media, computed before the setting changed), saying how many."""
    names = [name for kind in kinds for name in left_out_features(kind, settings)]
    if not names:
        return
    held = _held(driver, database)
    found = sum(sum(held.get(name, {}).values()) for name in names)
    if found:
        run_implicit(driver, database, load_query("delete_features_named"), names=names,
                     batchSize=batch_size)
        log.warning("removed %d feature vector(s) of %s: the media.features setting leaves "
                    "them out", found, ", ".join(names))


def _due(driver: Driver, database: str, kind: str, chosen: tuple[Extractor, ...],
         recompute: bool) -> list[tuple[str, str, str]]:
    """``(track_id, path as stored, file)`` of the tracks with a ``kind`` file whose ``chosen``
    features are due; ``file`` is the stored path joined to the root of the track's Catalog (a
    stored absolute path stays as it is)."""
    versions = {e.spec.name: e.spec.version for e in chosen}
    rows = read_rows(driver, database, load_query("tracks_missing_features"), media=kind,
                     names=list(versions))
    due = []
    for r in rows:
        file = str(Path(r["root"], r["path"])) if r["root"] else r["path"]
        if recompute or not _fresh(r["path"], file, r["features"], versions):
            due.append((r["track_id"], r["path"], file))
    return due


def _fresh(path: str, file: str, features: list[list], versions: dict[str, str]) -> bool:
    """Whether ``features`` (``[name, version, source_path, source_fingerprint]`` rows) are all
    there, at the current versions, computed from the media path ``path`` (as stored), and from
    the content now in ``file``."""
    found = {name: (version, source, fingerprint)
             for name, version, source, fingerprint in features}
    if set(found) != set(versions):
        return False
    if any(found[name][:2] != (versions[name], path) for name in versions):
        return False
    fingerprints = {fingerprint for _, _, fingerprint in found.values()}
    return len(fingerprints) == 1 and same_file(file, fingerprints.pop())


def _interleaved(todo: dict[str, list[tuple[str, str]]], batch_size: int) -> list[Job]:
    """Chunks of ``batch_size`` tracks, kinds taking turns (so every extractor runs early)."""
    chunks = [[Job(kind, rows[i:i + batch_size]) for i in range(0, len(rows), batch_size)]
              for kind, rows in todo.items()]
    return [job for turn in itertools.zip_longest(*chunks) for job in turn if job is not None]


def _write(driver: Driver, database: str, result: JobResult, stored: dict[str, str],
           feature_rows: int) -> None:
    """Write the vectors of ``result``, then the path (as ``stored`` on each track) and the
    fingerprint of their files."""
    if not result.sets:
        return
    write_feature_sets(driver, database, result.sets, batch_size=feature_rows, progress=False)
    rows = [{"id": feature_id(track, fs.name), "path": stored[track],
             "fingerprint": result.sources[track][1]}
            for fs in result.sets for track in fs.track_ids]
    run_batches(driver, database, load_query("set_feature_sources"), rows,
                batch_size=feature_rows)
