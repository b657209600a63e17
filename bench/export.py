"""Measure ``export_heterograph``: wall time and peak RSS, on a synthetic graph or what is loaded.

    python bench/export.py --build --tracks 100000 --users 10000 --listens 100   # writes the graph
    python bench/export.py --split kgcn-ctr --out /tmp/exp                      # exports it again
    python bench/export.py --listened      # the selection of `mmkg train`: tracks with a listen

The export streams into ``--out`` (default: a temporary folder, deleted afterwards); the peak
RSS is the whole process's (``ru_maxrss``), so it includes the torch and dgl libraries, which are
imported before the clock starts and reported apart as ``rss_after_imports_mib``.

``--build`` EMPTIES the configured database, then writes with ``UNWIND range()`` in Cypher:
``tracks`` tracks (``id`` "0".., ``year``), ``tracks // 20`` artists, 20 genres, ``tracks // 10``
entities (``music.artist.origin`` from artists), ``users`` users each with ``listens`` distinct
LISTENED {plays, ts}, and a 16-dim ``audio_bench`` Audio feature on every track.
Prints one JSON line: counts, seconds, RSS after imports and peak RSS (MiB).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import tempfile
import time
from pathlib import Path

from mmkg.config import load_settings
from mmkg.export import Selection, SplitConfig, export_heterograph
from mmkg.graph import connect, load_statements
from mmkg.graph.schema import apply_schema, reset_database
from mmkg.schema import kg_relation_type, quote

BUILD = load_statements(Path(__file__).with_name("cypher") / "export_build.cypher")


def build(driver, database: str, tracks: int, users: int, listens: int) -> None:
    reset_database(driver, database)
    apply_schema(driver, database)
    origin = quote(kg_relation_type("music.artist.origin"))
    for statement in BUILD:
        started = time.perf_counter()
        with driver.session(database=database) as session:  # IN TRANSACTIONS needs auto-commit
            session.run(statement.replace("__ORIGIN__", origin),
                        tracks=tracks, users=users, listens=listens).consume()
        logging.info("%.1fs  %s", time.perf_counter() - started, statement[:70])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="store_true", help="empty the database, write the synthetic graph")
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--listens", type=int, default=100, help="LISTENED per user")
    parser.add_argument("--split", default="ratio")
    parser.add_argument("--listened", action="store_true",
                        help="export the tracks with a listen (and the KG within 2 hops of them), "
                             "as `mmkg train` does, instead of the whole graph")
    parser.add_argument("--out", type=Path, help="the export folder (replaced; default: a temporary one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = load_settings()
    driver = connect(settings)
    database = settings.neo4j.database
    if args.build:
        build(driver, database, args.tracks, args.users, args.listens)
    import dgl  # noqa: F401 - count the libraries in the baseline, not in the export
    import torch  # noqa: F401

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = args.out or Path(tempfile.mkdtemp(prefix="mmkg-bench-export-")) / "export"
    started = time.perf_counter()
    selection = Selection(listened=True) if args.listened else None
    exported = export_heterograph(driver, database, out, selection=selection,
                                  split=SplitConfig(protocol=args.split), progress=False, replace=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    driver.close()
    folder_mib = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    if args.out is None:
        shutil.rmtree(out.parent)
    print(json.dumps({"split": args.split, "listened": args.listened, "seconds": round(seconds, 1),
                      "rss_after_imports_mib": round(baseline), "peak_rss_mib": round(peak),
                      "folder_mib": round(folder_mib),
                      "nodes": exported.manifest["counts"]["nodes"],
                      "interactions": exported.manifest["counts"]["interactions"],
                      "split_sizes": exported.manifest["counts"]["split"]}))


if __name__ == "__main__":
    main()
