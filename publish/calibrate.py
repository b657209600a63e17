"""Calibrate the modality features against the catalog, for the modality reasons of ``explain``.

Raw feature cosines say little: on the demo catalog every pair of tracks has a raw cosine between
0.74 and 0.95 in every modality (all vectors share a large common part: non-negative histograms,
MFCC offsets). A reason such as "sounds like 'X'" must instead mean "closer than almost every
other pair of tracks". Per feature name ``n`` (``audio_librosa``, ``lyrics_minilm``, ...), over
the catalog's ``N`` vectors ``x_t`` of that name:

.. math::

    \\mu_d = \\frac{1}{N} \\sum_t x_{t,d}, \\qquad
    \\sigma_d = \\sqrt{\\frac{1}{N} \\sum_t (x_{t,d} - \\mu_d)^2}, \\qquad
    z_t = \\frac{y_t}{\\lVert y_t \\rVert_2}, \\quad y_{t,d} = \\frac{x_{t,d} - \\mu_d}{\\sigma_d}

(a dimension with :math:`\\sigma_d \\le 10^{-12}` gets :math:`y_{t,d} = 0`: it tells no track
apart). :math:`z_t` is stored as ``Feature.calibrated``; the similarity of two tracks is Neo4j's
``vector.similarity.cosine(z_a, z_b)`` = :math:`(1 + z_a \\cdot z_b) / 2`. Its distribution over
track pairs — every pair when there are at most ``max_pairs``, otherwise ``max_pairs`` pairs drawn
uniformly with a seeded generator — gives the ``quantile`` (0.95) threshold a reason must reach
and the 1st..99th percentiles that word it ("closer than 97 % of track pairs"). Those are
stored on the Model being published (``Model.calibration_*``, :class:`mmkg.schema.Prop`), so they
become current with it at the flip.

Cost: two passes over each feature name's vectors in pages of ``batch_size`` (memory: one page,
the ids and two ``float64[dim]`` sums), one write per page, and ``max_pairs`` similarities
computed inside Neo4j. A daily publish usually finds the features as the last one left them, so
the first pass also hashes the calibration's input (the settings, then each id and raw vector in
id order: :attr:`FeatureCalibration.digest`) and notes whether every vector still has its
calibrated copy (``merge_features`` removes it when it rewrites a vector). When both hold and
the latest calibration (``Model.calibration_seq``, set before any write, so a publish that failed
half-way counts) recorded the same digest, its thresholds are reused and nothing is written: one
read pass instead of two passes, a write and the pairs (at 10M listens, 200k tracks: ~20 s → ~6 s).
The latest calibration may be the Model's own: publishing the same version again reuses it.

Tracks that arrive after training (``mmkg publish RUN --new-tracks``) get calibrated copies too
(:func:`calibrate_new_tracks`), with each name's :math:`\\mu, \\sigma` over the other tracks' vectors:
those the run was trained on. That is the set its publish calibrated when the graph held no other
track then; when it did (tracks left out of the export, as ``make demo`` leaves out the tracks
nobody played), the statistics of the trained tracks stand in for the catalog's, and those tracks'
copies are rewritten with them. The model's thresholds and percentiles stay as they are, so a new
track's reasons are worded against the catalog's pairs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from neo4j import Driver

from mmkg.config import BATCH
from mmkg.graph import load_query, read_rows, run_batches, write_rows

log = logging.getLogger(__name__)

PERCENTILE_LEVELS = np.arange(1, 100) / 100
"""The levels of ``Model.calibration_percentiles``: 1 %, 2 %, ..., 99 % (99 per feature name)."""

MIN_STD = 1e-12
"""A dimension whose catalog standard deviation is at most this is constant: it is zeroed."""


@dataclass(frozen=True)
class CalibrationConfig:
    """How publish calibrates the modality features.

    Args:
        quantile: the share of track pairs a modality reason's pair must be at least as similar
            as (default 0.95: closer than 95 % of the catalog's pairs).
        max_pairs: track pairs whose similarity estimates the distribution (default 20,000; a
            catalog with fewer pairs uses all of them, exactly).
        seed: seeds the pair sample.
    """

    quantile: float = 0.95
    max_pairs: int = 20_000
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.quantile < 1 or self.max_pairs < 1:
            raise ValueError("quantile must be in (0, 1) and max_pairs >= 1")


@dataclass(frozen=True)
class FeatureCalibration:
    """The calibration of one feature name."""

    name: str
    tracks: int
    """Feature nodes of that name (tracks that have it)."""
    pairs: int
    """Track pairs whose similarity was measured (those with a similarity)."""
    threshold: float
    """The :attr:`CalibrationConfig.quantile` quantile of the pair similarities."""
    percentiles: list[float]
    """The pair similarities at :data:`PERCENTILE_LEVELS`."""
    digest: str
    """SHA-256 (hex) of the calibration's input: the :class:`CalibrationConfig`, then every
    Feature id and raw vector of the name, in id order."""
    reused: bool = False
    """True when the latest calibration had the same digest and every vector still had its
    calibrated copy: this publish wrote nothing for the name."""


def _pages(driver: Driver, database: str, name: str, batch_size: int
           ) -> Iterator[tuple[list[str], np.ndarray, bool]]:
    """The vectors of feature ``name``: ``(ids, float64[n, dim], every one of the page has a
    calibrated copy)`` pages in id order."""
    after = ""
    while True:
        rows = read_rows(driver, database, load_query("publish_calibration_read"),
                         name=name, after=after, limit=batch_size)
        if not rows:
            return
        after = rows[-1]["id"]
        yield ([r["id"] for r in rows], np.asarray([r["vector"] for r in rows], dtype=np.float64),
               all(r["calibrated"] for r in rows))


def standardise(vectors: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``z`` of the module docstring: ``(x - mean) / std`` (constant dimensions zeroed), each row
    L2-normalised (a row of zeros stays zeros)."""
    y = np.where(std > MIN_STD, (vectors - mean) / np.where(std > MIN_STD, std, 1.0), 0.0)
    norms = np.linalg.norm(y, axis=1, keepdims=True)
    return y / np.where(norms > 0, norms, 1.0)


def sample_pairs(n: int, max_pairs: int, seed: int) -> np.ndarray:
    """``int64[p, 2]`` index pairs ``(i, j)``, ``i != j``, of ``n`` items: all ``n(n-1)/2``
    unordered pairs when that is at most ``max_pairs``, else ``max_pairs`` uniform draws (with
    replacement) from a generator seeded by ``seed``."""
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    if n * (n - 1) // 2 <= max_pairs:
        i, j = np.triu_indices(n, k=1)
        return np.stack([i, j], axis=1).astype(np.int64)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=max_pairs)
    j = (i + rng.integers(1, n, size=max_pairs)) % n  # uniform over the other n - 1 items
    return np.stack([i, j], axis=1).astype(np.int64)


def calibrate_feature(driver: Driver, database: str, name: str, config: CalibrationConfig,
                      batch_size: int, previous: FeatureCalibration | None = None
                      ) -> FeatureCalibration | None:
    """Write ``Feature.calibrated`` for every vector of ``name``; return its calibration, or
    ``None`` when fewer than two tracks have a usable similarity. ``previous`` (the latest
    calibration of ``name``) is returned again, marked reused, when its digest is this input's
    and every vector still has its calibrated copy."""
    ids: list[str] = []
    total = total_sq = None
    digest = hashlib.sha256(repr((config.quantile, config.max_pairs, config.seed)).encode())
    all_calibrated = True
    for page_ids, vectors, calibrated in _pages(driver, database, name, batch_size):  # pass 1
        ids.extend(page_ids)
        total = vectors.sum(axis=0) + (0 if total is None else total)
        total_sq = (vectors ** 2).sum(axis=0) + (0 if total_sq is None else total_sq)
        for i in page_ids:
            digest.update(i.encode() + b"\0")
        digest.update(np.ascontiguousarray(vectors, dtype="<f8").tobytes())
        all_calibrated &= calibrated
    if len(ids) < 2:
        return None
    if previous is not None and all_calibrated and previous.digest == digest.hexdigest():
        return replace(previous, tracks=len(ids), reused=True)
    mean, std = _mean_std(total, total_sq, len(ids))
    write = load_query("publish_calibration_write")
    for page_ids, vectors, _ in _pages(driver, database, name, batch_size):  # pass 2: write z
        rows = [{"id": i, "vector": v} for i, v in zip(page_ids, standardise(vectors, mean, std).tolist())]
        run_batches(driver, database, write, rows, batch_size=batch_size)
    pairs = sample_pairs(len(ids), config.max_pairs, config.seed)
    similarities = []
    for start in range(0, len(pairs), batch_size):
        chunk = [[ids[i], ids[j]] for i, j in pairs[start:start + batch_size]]
        rows = read_rows(driver, database, load_query("publish_calibration_pairs"), pairs=chunk)
        similarities.extend(r["similarity"] for r in rows if r["similarity"] is not None)
    if not similarities:
        return None
    sims = np.asarray(similarities)
    return FeatureCalibration(name=name, tracks=len(ids), pairs=len(sims),
                              threshold=float(np.quantile(sims, config.quantile)),
                              percentiles=np.quantile(sims, PERCENTILE_LEVELS).tolist(),
                              digest=digest.hexdigest())


def _mean_std(total: np.ndarray, total_sq: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``mu`` and ``sigma`` of the module docstring from the sums of ``n`` vectors and of their
    squares."""
    mean = total / n
    return mean, np.sqrt(np.maximum(total_sq / n - mean ** 2, 0.0))


def calibrate_new_tracks(driver: Driver, database: str, new_ids: list[str], *,
                         batch_size: int = BATCH.publish) -> int:
    """Write ``Feature.calibrated`` for the features of the tracks ``new_ids``, standardised
    with each name's mean and standard deviation over the vectors of every other track (module
    docstring); returns how many were written. A name that fewer than two other tracks have is
    left out, as :func:`calibrate_feature` leaves it out. Two read passes per name; the result
    depends on the graph's raw vectors alone, so a re-run writes the same copies.

    Raises:
        DatabaseError: Neo4j refused a read or write.
    """
    new = set(new_ids)
    names = [r["name"] for r in read_rows(driver, database, load_query("publish_calibration_names"))]
    write = load_query("publish_calibration_write")
    written = 0
    for name in names:
        def is_new(feature_ids: list[str], cut: int = len(name) + 1) -> np.ndarray:
            return np.array([i[:-cut] in new for i in feature_ids], dtype=bool)

        total = total_sq = 0.0
        n_other = 0
        for ids, vectors, _ in _pages(driver, database, name, batch_size):  # pass 1: the others
            other = vectors[~is_new(ids)]
            total, total_sq = total + other.sum(axis=0), total_sq + (other ** 2).sum(axis=0)
            n_other += len(other)
        if n_other < 2:
            continue
        mean, std = _mean_std(total, total_sq, n_other)
        for ids, vectors, _ in _pages(driver, database, name, batch_size):  # pass 2: the new
            fresh = is_new(ids)
            if fresh.any():
                z = standardise(vectors[fresh], mean, std).tolist()
                rows = [{"id": i, "vector": v} for i, v in zip(np.asarray(ids)[fresh].tolist(), z)]
                run_batches(driver, database, write, rows, batch_size=batch_size)
                written += len(rows)
    return written


def _previous(row: dict) -> dict[str, FeatureCalibration]:
    """The latest calibration (a ``publish_calibration_begin`` row) per feature name; empty when
    there is none or it has no digests (a publish before digests, or one that failed)."""
    if not row["names"] or not row["digests"]:
        return {}
    n = len(PERCENTILE_LEVELS)
    return {name: FeatureCalibration(name=name, tracks=0, pairs=pairs, threshold=threshold,
                                     percentiles=row["percentiles"][i * n:(i + 1) * n], digest=digest)
            for i, (name, digest, threshold, pairs) in enumerate(
                zip(row["names"], row["digests"], row["thresholds"], row["pairs"]))}


def calibrate_features(driver: Driver, database: str, model_id: str, *,
                       config: CalibrationConfig = CalibrationConfig(),
                       batch_size: int = BATCH.publish) -> list[FeatureCalibration]:
    """Calibrate every feature name of the catalog (module docstring) and record the result on
    ``(:Model {id: model_id})``, which must exist. Returns one :class:`FeatureCalibration` per
    calibrated name, in name order.

    Raises:
        DatabaseError: Neo4j refused a read or write.
    """
    names = [r["name"] for r in read_rows(driver, database, load_query("publish_calibration_names"))]
    [latest] = write_rows(driver, database, load_query("publish_calibration_begin"), model=model_id)
    previous = _previous(latest)
    calibrations = [c for name in names
                    if (c := calibrate_feature(driver, database, name, config, batch_size,
                                               previous.get(name)))]
    write_rows(driver, database, load_query("publish_calibration"), model=model_id,
               names=[c.name for c in calibrations],
               thresholds=[c.threshold for c in calibrations],
               percentiles=[p for c in calibrations for p in c.percentiles],
               quantile=config.quantile, pairs=[c.pairs for c in calibrations],
               digests=[c.digest for c in calibrations])
    for c in calibrations:
        log.info("calibrated %s: %d tracks, %d pairs, %.0f %% quantile of similarity %.4f%s",
                 c.name, c.tracks, c.pairs, 100 * config.quantile, c.threshold,
                 " (reused: its input is unchanged since the last calibration)" if c.reused else "")
    return calibrations
