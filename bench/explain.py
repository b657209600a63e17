"""What share of the current model's recommendations ``mmkg recommend --explain`` explains.

Reads the graph as it is (it writes nothing): every ``RECOMMENDED`` of the current model
(``cypher/published_recommendations.cypher``, or the best ``--top`` ranks of each user), runs
``cypher/explain.cypher`` for each with ``$limit`` = :data:`mmkg.recommend.REASONS` (what
``mmkg recommend --explain`` shows) and prints, with the machine and the command:

- the share of recommendations with at least one reason,
- the share with at least one modality reason (kind other than ``kg``) among those shown, and
  with one whose pair is closer than 99 % of the catalog's track pairs,
- per kind, the share of recommendations that show one, and the explain latency (p50, p99).

On the demo (``make demo``'s pipeline: ``mmkg sample-catalog --tracks 300 --users 100 --seed 7``,
ingest, ``mmkg train --config train/configs/demo.toml --seed 7 --refit``, ``mmkg publish``)::

    python bench/explain.py
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
from collections import Counter

from mmkg.config import Settings, load_settings
from mmkg.graph import connect, read_named
from mmkg.recommend import REASONS


def print_context(settings: Settings) -> None:
    """Print the command, the machine with its load average, and the Neo4j it reads."""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine: {os.cpu_count()} CPUs (nproc), {mem:.1f} GiB RAM, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; Neo4j {settings.neo4j.bolt_uri}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=None,
                        help="only each user's best TOP recommendations (default: all published)")
    args = parser.parse_args()
    settings = load_settings()
    print_context(settings)
    driver = connect(settings)
    database = settings.neo4j.database
    try:
        recs = read_named(driver, database, "published_recommendations")
        if args.top is not None:
            recs = [r for r in recs if r["rank"] <= args.top]
        if not recs:
            sys.exit("no published recommendations: run `mmkg publish RUN_DIR` first")
        explained = modal = modal_99 = 0
        kinds: Counter[str] = Counter()
        seconds = []
        for rec in recs:
            started = time.perf_counter()
            reasons = read_named(driver, database, "explain", userId=rec["userId"],
                                 likedTrackIds=None, similarTo=None, explainedTrackId=rec["trackId"],
                                 limit=REASONS)
            seconds.append(time.perf_counter() - started)
            shown = {r["kind"] for r in reasons}
            explained += bool(shown)
            modal += bool(shown - {"kg"})
            modal_99 += any(r["closerThan"] == 99 for r in reasons)
            kinds.update(shown)
    finally:
        driver.close()
    n = len(recs)
    users = len({r["userId"] for r in recs})
    print(f"recommendations: {n} ({users} users, ranks 1..{max(r['rank'] for r in recs)}); "
          f"reasons shown per recommendation: at most {REASONS}")
    print(f"with at least one reason:          {explained / n:6.1%} ({explained}/{n})")
    print(f"with at least one modality reason: {modal / n:6.1%} ({modal}/{n})")
    print(f"  ... closer than 99 % of pairs:   {modal_99 / n:6.1%} ({modal_99}/{n})")
    print("per kind (share of recommendations showing one): "
          + ", ".join(f"{kind} {count / n:.1%}" for kind, count in sorted(kinds.items())))
    seconds.sort()
    print(f"explain latency: p50 {1000 * statistics.median(seconds):.1f} ms, "
          f"p99 {1000 * seconds[min(n - 1, int(0.99 * n))]:.1f} ms")


if __name__ == "__main__":
    main()
