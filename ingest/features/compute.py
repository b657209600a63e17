"""Compute, resumably, every feature a track in Neo4j lacks: ``compute_missing_features``.

For each media kind (``lyrics``, ``cover``, ``audio``) the tracks that have the file's path in
the property of that name but lack one of its features (``cypher/tracks_missing_features.cypher``)
are processed in batches; each batch is written as soon as it is computed, so an interrupted run
loses at most one batch and a re-run computes only what is still missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from neo4j import Driver

from mmkg.config import BATCH
from mmkg.graph import load_query, read_rows
from mmkg.ingest.features.extract import extract
from mmkg.ingest.features.media import check_media
from mmkg.ingest.features.registry import extractors, media_kinds
from mmkg.ingest.featureset import FeatureSet
from mmkg.ingest.writers import write_feature_sets
from mmkg.progress import progress_bar

log = logging.getLogger(__name__)
DECODE_ERRORS = (OSError, RuntimeError, ValueError, EOFError)
"""What decoders raise for a file that passed :func:`check_media` but is broken further in."""


def compute_missing_features(driver: Driver, database: str, *,
                             batch_size: int = BATCH.features,
                             feature_rows: int = BATCH.feature_rows, progress: bool = True,
                             only: Iterable[str] | None = None) -> dict[str, int]:
    """Compute and write the features missing on tracks that have media files.

    Args:
        driver, database: where the tracks live.
        batch_size: tracks per extraction batch (each batch is written once computed).
        feature_rows: most feature rows per write transaction.
        progress: show a progress bar (tracks/s, ETA) on stderr.
        only: media kinds to consider (default: every registered one).

    Returns:
        The number of vectors written per feature name (0 for features nothing was missing for).
        Files that do not decode are skipped with a warning (and retried by the next run).
    """
    kinds = _kinds(only)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    todo = {kind: _missing(driver, database, kind) for kind in kinds}
    counts = {e.spec.name: 0 for kind in kinds for e in extractors(kind)}
    skipped = 0
    with progress_bar("tracks", disable=not progress) as bar:
        tasks = {kind: bar.add_task(kind, total=len(rows)) for kind, rows in todo.items()}
        for kind, rows in todo.items():
            for start in range(0, len(rows), batch_size):
                batch = rows[start:start + batch_size]
                sets, bad = _extract_batch(kind, batch)
                skipped += bad
                write_feature_sets(driver, database, sets, batch_size=feature_rows, progress=False)
                for fs in sets:
                    counts[fs.name] += len(fs.track_ids)
                bar.advance(tasks[kind], len(batch))
    if skipped:
        log.warning("%d media file(s) could not be decoded; their features are still missing",
                    skipped)
    return counts


def _kinds(only: Iterable[str] | None) -> list[str]:
    known = media_kinds()
    kinds = list(known if only is None else only)
    unknown = sorted(set(kinds) - set(known))
    if unknown:
        raise ValueError(f"unknown media kind(s) {unknown}; expected {', '.join(known)}")
    return kinds


def _missing(driver: Driver, database: str, kind: str) -> list[tuple[str, str]]:
    """``(track_id, path)`` of the tracks with a ``kind`` file lacking one of its features."""
    rows = read_rows(driver, database, load_query("tracks_missing_features"), media=kind,
                     names=[e.spec.name for e in extractors(kind)])
    return [(r["track_id"], r["path"]) for r in rows]


def _extract_batch(kind: str, batch: list[tuple[str, str]]) -> tuple[list[FeatureSet], int]:
    """Feature sets for the decodable files of ``batch``, and how many files were skipped."""
    good: list[tuple[str, Path]] = []
    for track_id, path in batch:
        problem = check_media(kind, Path(path))
        if problem:
            log.warning("track %s: %s", track_id, problem)
        else:
            good.append((track_id, Path(path)))
    if not good:
        return [], len(batch)
    ids, paths = [t for t, _ in good], [p for _, p in good]
    try:
        return extract(kind, paths, ids), len(batch) - len(good)
    except DECODE_ERRORS:
        pass
    # one file broke the batch: extract one by one to keep the others
    sets: list[FeatureSet] = []
    for track_id, path in good:
        try:
            sets.extend(extract(kind, [path], [track_id]))
        except DECODE_ERRORS as e:
            log.warning("track %s: cannot extract %s features from %s: %s", track_id, kind, path, e)
    done = {t for fs in sets for t in fs.track_ids}
    return sets, len(batch) - len(done)
