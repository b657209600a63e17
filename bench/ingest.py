"""Ingest throughput, online (``MERGE`` in batches) vs ``--bulk`` (Neo4j's offline importer), side by side.

Runs against the Neo4j configured by ``MMKG_*`` settings (the local server, for ``--bulk``) and
**empties that database** first (hence ``--yes``). Datasets: KGCN's Last.FM
(``../shared/datasets/lastfm-kgcn``, online only) and a synthetic catalog without media
(``--tracks`` tracks, ``--interactions`` interactions, generated here with numpy). Each mode runs
in its own process, so that its peak RSS is its own (the importer's JVM is reported apart).

    .venv/bin/python bench/ingest.py --yes [--mode both|online|bulk]
        [--tracks 100000 --interactions 1000000] [--batch-size 10000] [--skip-lastfm]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


from mmkg.ingest.pipeline import read_dataset
from mmkg.ingest.writers import write_feature_sets, write_nodes, write_relationships
from mmkg.config import load_settings
from mmkg.graph import connect
from mmkg.graph.schema import apply_schema, reset_database
from mmkg.ingest.bulk import bulk_load
from mmkg.server.local import LocalServer

LASTFM = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "lastfm-kgcn"


def synthetic_catalog(root: Path, n_tracks: int, n_interactions: int, seed: int = 0) -> Path:
    """A media-free catalog: tracks, artists, albums, genres, users, interactions, one feature."""
    rng = np.random.default_rng(seed)
    n_artists, n_albums, n_genres, n_users = n_tracks // 10, n_tracks // 5, 20, max(1, n_interactions // 20)
    root.mkdir(parents=True, exist_ok=True)
    ids = lambda prefix, n: np.char.add(prefix, np.arange(n).astype(str))  # noqa: E731
    pd.DataFrame({"id": ids("a", n_artists), "name": ids("Artist ", n_artists)}).to_csv(root / "artists.csv", index=False)
    pd.DataFrame({"id": ids("g", n_genres), "name": ids("genre ", n_genres)}).to_csv(root / "genres.csv", index=False)
    pd.DataFrame({"id": ids("al", n_albums), "title": ids("Album ", n_albums),
                  "artist_id": ids("a", n_artists)[rng.integers(0, n_artists, n_albums)]}
                 ).to_csv(root / "albums.csv", index=False)
    pd.DataFrame({"id": ids("t", n_tracks), "title": ids("Track ", n_tracks),
                  "artist_id": ids("a", n_artists)[rng.integers(0, n_artists, n_tracks)],
                  "album_id": ids("al", n_albums)[rng.integers(0, n_albums, n_tracks)],
                  "genre_id": ids("g", n_genres)[rng.integers(0, n_genres, n_tracks)]}
                 ).to_csv(root / "tracks.csv", index=False)
    pairs = np.unique(np.stack([rng.integers(0, n_users, int(n_interactions * 1.05)),
                                rng.zipf(1.3, int(n_interactions * 1.05)) % n_tracks], 1), axis=0)
    pairs = pairs[rng.permutation(len(pairs))[:n_interactions]]
    pd.DataFrame({"user_id": ids("u", n_users)[pairs[:, 0]], "track_id": ids("t", n_tracks)[pairs[:, 1]],
                  "plays": rng.integers(1, 500, len(pairs)),
                  "ts": rng.integers(1_500_000_000, 1_700_000_000, len(pairs))}
                 ).to_csv(root / "interactions.csv", index=False)
    (root / "features").mkdir(exist_ok=True)
    feats = pd.DataFrame(rng.normal(size=(n_tracks, 16)).round(5), columns=[f"f{i}" for i in range(1, 17)])
    feats.insert(0, "track_id", ids("t", n_tracks))
    feats.to_csv(root / "features" / "audio_demo.csv", index=False)
    return root


def fresh_database(database: str, server: LocalServer) -> None:
    """An empty database: its files removed while the server is stopped (deleting millions of
    nodes through Cypher takes minutes on a loaded machine), then the schema applied."""
    server.stop()
    server.remove_database_files(database)
    server.start()


def bench(driver, database: str, path: Path, fmt: str, batch_size: int) -> dict:
    """Online ingest, step by step; prints and returns the figures."""
    reset_database(driver, database)
    apply_schema(driver, database)
    t0 = time.perf_counter()
    data, validator = read_dataset(path, fmt)
    assert not validator.problems, validator.causes[:5]
    t1 = time.perf_counter()
    nodes = sum(write_nodes(driver, database, s, batch_size=batch_size, progress=False).rows
                for s in data.nodes)
    t2 = time.perf_counter()
    rels = sum(write_relationships(driver, database, s, batch_size=batch_size, progress=False).rows
               for s in data.relationships)
    t3 = time.perf_counter()
    feats = write_feature_sets(driver, database, data.features, batch_size=batch_size,
                               progress=False).rows if data.features else 0
    t4 = time.perf_counter()
    rerun = sum(write_relationships(driver, database, s, batch_size=batch_size, progress=False).rows
                for s in data.relationships)
    t5 = time.perf_counter()
    print(f"  read+validate: {t1 - t0:6.1f} s")
    print(f"  nodes:         {nodes:>9,} in {t2 - t1:6.1f} s = {nodes / (t2 - t1):>9,.0f} nodes/s")
    print(f"  relationships: {rels:>9,} in {t3 - t2:6.1f} s = {rels / (t3 - t2):>9,.0f} rels/s (MERGE, new)")
    print(f"  rels re-run:   {rerun:>9,} in {t5 - t4:6.1f} s = {rerun / (t5 - t4):>9,.0f} rels/s (MERGE, existing)")
    if feats:
        print(f"  features:      {feats:>9,} in {t4 - t3:6.1f} s = {feats / (t4 - t3):>9,.0f} vectors/s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS so far: {rss:,.0f} MiB")
    # features count as nodes + HAS_FEATURE relationships, as in the bulk figures
    return {"validate_s": t1 - t0, "write_s": t4 - t1, "nodes": nodes + feats, "rels": rels + feats,
            "rss_mib": rss, "child_rss_mib": 0.0}


def bench_bulk(driver, database: str, path: Path, fmt: str, server: LocalServer) -> dict:
    """``--bulk``: validate, importer CSVs, stop, import, start, constraints; returns the figures."""
    reset_database(driver, database)
    t0 = time.perf_counter()
    data, validator = read_dataset(path, fmt)
    assert not validator.problems, validator.causes[:5]
    t1 = time.perf_counter()
    steps: dict[str, float] = {}
    written = bulk_load(driver, database, data, server, progress=False, timings=steps)
    t2 = time.perf_counter()
    nodes, rels = written.nodes_created, written.relationships_created
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  read+validate: {t1 - t0:6.1f} s")
    print(f"  bulk (CSVs, stop, import, start, constraints): {nodes:,} nodes + {rels:,} rels in "
          f"{t2 - t1:.1f} s = {nodes / (t2 - t1):,.0f} nodes/s, {rels / (t2 - t1):,.0f} rels/s")
    print("  steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
    print(f"  peak RSS: {rss:,.0f} MiB (python), {child:,.0f} MiB (importer JVM)")
    return {"validate_s": t1 - t0, "write_s": t2 - t1, "nodes": nodes, "rels": rels,
            "rss_mib": rss, "child_rss_mib": child, "steps": steps}


def run_mode(args: argparse.Namespace, settings) -> dict:
    """One mode in this process: Last.FM (online only, unless skipped), then the synthetic catalog."""
    fresh_database(settings.neo4j.database, LocalServer(settings))
    driver = connect(settings)
    try:
        if args.mode == "online" and not args.skip_lastfm:
            print(f"Last.FM (kgcn) {LASTFM}, batch {args.batch_size}")
            bench(driver, settings.neo4j.database, LASTFM, "kgcn", args.batch_size)
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            root = synthetic_catalog(Path(tmp) / "catalog", args.tracks, args.interactions)
            print(f"synthetic catalog (--no-media): {args.tracks:,} tracks, {args.interactions:,} "
                  f"interactions, generated in {time.perf_counter() - t:.1f} s; mode {args.mode}")
            if args.mode == "online":
                return bench(driver, settings.neo4j.database, root, "catalog", args.batch_size)
            return bench_bulk(driver, settings.neo4j.database, root, "catalog", LocalServer(settings))
    finally:
        driver.close()


def side_by_side(results: dict[str, dict]) -> None:
    """The table for BENCHMARKS.md: wall time and rates of each mode."""
    print("\n| mode | read + validate | write | nodes/s | rels/s | end to end (rels/s incl. validate) "
          "| peak RSS (python / importer) |")
    print("|---|---|---|---|---|---|---|")
    for mode, r in results.items():
        total = r["validate_s"] + r["write_s"]
        print(f"| {mode} | {r['validate_s']:.1f} s | {r['write_s']:.1f} s | {r['nodes'] / r['write_s']:,.0f} "
              f"| {r['rels'] / r['write_s']:,.0f} | {total:.1f} s ({r['rels'] / total:,.0f}) "
              f"| {r['rss_mib']:,.0f} / {r['child_rss_mib']:,.0f} MiB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yes", action="store_true", help="allow emptying the configured database")
    parser.add_argument("--mode", choices=("both", "online", "bulk"), default="both")
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--skip-lastfm", action="store_true")
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)  # a child's result file
    args = parser.parse_args()
    if not args.yes:
        parser.error("this empties the configured Neo4j database: pass --yes")
    settings = load_settings()
    if args.mode != "both":
        result = run_mode(args, settings)
        if args.json:
            args.json.write_text(json.dumps(result))
        return
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine: {os.cpu_count()} CPUs (nproc), {mem:.1f} GiB RAM, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; Neo4j {settings.neo4j.bolt_uri} "
          f"heap {settings.neo4j.heap} pagecache {settings.neo4j.pagecache}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("online", "bulk"):
            out = Path(tmp) / f"{mode}.json"
            child = ["--yes", "--tracks", str(args.tracks), "--interactions", str(args.interactions),
                     "--batch-size", str(args.batch_size), *(["--skip-lastfm"] * args.skip_lastfm)]
            subprocess.run([sys.executable, __file__, *child, "--mode", mode, "--json", str(out)],
                           check=True)
            results[mode] = json.loads(out.read_text())
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    side_by_side(results)


if __name__ == "__main__":
    main()
