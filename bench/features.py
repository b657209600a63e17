"""Measure the sample-catalog generator and feature extraction.

    python bench/features.py --big-tracks 100000 --big-users 10000 --media-tracks 500

1. ``generate_sample_catalog`` of ``big-tracks`` tracks / ``big-users`` users × 100 listens,
   without media;
2. the same with media for ``media-tracks`` tracks;
3. ingest of (2) into the configured database, which it EMPTIES first (``--no-features``), then
   ``compute_missing_features`` on it, once per media kind (tracks/s), in a warm process
   (model loading and JIT compilation are timed separately, on one track).

Prints one JSON line per step.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from mmkg.ingest.features import extract
from mmkg.ingest.features.compute import compute_missing_features
from mmkg.ingest.pipeline import ingest
from mmkg.ingest.sample_catalog import generate_sample_catalog
from mmkg.config import load_settings
from mmkg.graph import connect
from mmkg.graph.schema import apply_schema, reset_database


def _emit(step: str, **fields) -> None:
    print(json.dumps({"step": step, **fields}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-tracks", type=int, default=100_000)
    parser.add_argument("--big-users", type=int, default=10_000)
    parser.add_argument("--media-tracks", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        big = generate_sample_catalog(Path(tmp) / "big", tracks=args.big_tracks,
                                      users=args.big_users, interactions_per_user=100,
                                      seed=0, media=False)
        _emit("generate --no-media", tracks=args.big_tracks, users=args.big_users,
              interactions=big.rows["interactions"], seconds=round(big.seconds, 2))

        root = Path(tmp) / "media"
        small = generate_sample_catalog(root, tracks=args.media_tracks, users=50, seed=0)
        _emit("generate --media", tracks=args.media_tracks, media_files=small.media_files,
              seconds=round(small.seconds, 2))

        for kind, rel in (("lyrics", "media/lyrics/t1.txt"), ("cover", "media/covers/t1.png"),
                          ("audio", "media/audio/t1.wav")):
            started = time.perf_counter()
            extract(kind, [root / rel], ["warm"])
            _emit("first call (load/JIT)", kind=kind,
                  seconds=round(time.perf_counter() - started, 2))

        settings = load_settings()
        driver = connect(settings)
        database = settings.neo4j.database
        reset_database(driver, database)
        apply_schema(driver, database)
        ingest(driver, database, root, features=False, progress=False)
        total = 0.0
        for kind in ("lyrics", "cover", "audio"):
            started = time.perf_counter()
            counts = compute_missing_features(driver, database, batch_size=args.batch_size,
                                              progress=False, only=[kind])
            seconds = time.perf_counter() - started
            total += seconds
            tracks = max(counts.values())
            _emit("features", kind=kind, tracks=tracks, seconds=round(seconds, 2),
                  tracks_per_s=round(tracks / seconds, 1))
        _emit("features all kinds", tracks=args.media_tracks, seconds=round(total, 2),
              tracks_per_s=round(args.media_tracks / total, 1))
        driver.close()


if __name__ == "__main__":
    main()
