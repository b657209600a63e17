"""The growth curve: every step of the pipeline at 10k, 100k, 1M (and 10M) listens.

For each size N this EMPTIES the configured database of the local server (``--yes`` required:
the server is stopped, the database's files removed, the server started, the schema applied, as
``bench/ingest.py`` does; a Cypher delete of millions of nodes timed out), generates a synthetic
media-free catalog with ``bench/ingest.py``'s generator (N interactions, N/20 users, N/50 tracks
with Zipf popularity, a 16-d feature vector per track) and times, each through the real ``mmkg``
CLI in its own process (wall seconds and that process's peak RSS):

- ``ingest``: ``mmkg ingest`` of the catalog without its feature table (``--bulk`` for N ≥ 1M when
  ``mmkg ingest --help`` offers it);
- ``features``: ``mmkg ingest`` of the feature table (tracks + ``features/``): the vectors written;
- ``export``: ``mmkg export`` (Neo4j → export folder);
- ``epoch``: one MKGCN training epoch (``seconds_per_epoch`` of ``mmkg train --set epochs=1``) with a
  batch of ``n_train / --steps`` positives (a fixed number of steps per epoch, as W workers × a
  per-worker batch give; at a fixed batch an epoch costs steps × whole-graph propagation, i.e.
  O(N²)); ``train`` is the whole command (its end-of-run scoring of users × tracks included);
- ``publish``: ``mmkg publish`` (vectors, top-100 per user, the flip, vector indexes), and its
  ``phases:`` line (seconds per phase) as ``publish_phases``; skipped with ``--serve vectors``;
- ``recommend``: p50 / p99 latency of ``mmkg.recommend.for_user`` (``cypher/recommend.cypher``)
  for ``--queries`` random users, with one client and with ``--clients`` (threads);
- ``publish_vectors``: ``mmkg publish --serve vectors --keep 1`` of the same run (vectors and the
  serving index, no ``RECOMMENDED``; the top-K version is kept, not pruned), then ``recommend_vectors`` latency as above
  (``cypher/recommend_vectors.cypher``) and ``exactness``: the mean share of the exact top-20
  (dot products of the run's vectors, minus the user's listens) that ``for_user(k=20)`` returns,
  over ``--exact-users`` random users.

The 1-minute load average is printed with every figure (the machine is shared).

Then fits ``log(seconds) = a + slope · log(N)`` per step (and the slope of the last interval),
prints a Markdown table, writes ``--plot`` (log-log PNG) and ``--json``::

    MMKG_NEO4J_BOLT_PORT=7751 ... .venv/bin/python -m bench.scale --yes --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.ingest import fresh_database, synthetic_catalog
from mmkg.config import load_settings
from mmkg.graph import connect
from mmkg.graph.schema import apply_schema
from mmkg.export import ExportedGraph
from mmkg.recommend import for_user
from mmkg.server.local import LocalServer
from mmkg.train.data import TrainData
from mmkg.train.run_folder import RunFolder

MMKG = [sys.executable, "-m", "mmkg"]
STEPS = ("ingest", "features", "export", "epoch", "train", "publish", "recommend_p50", "recommend_p99",
         "publish_vectors", "recommend_vectors_p50", "recommend_vectors_p99")
LINEAR_STEPS = ("ingest", "features", "export", "epoch", "publish", "recommend_p50", "recommend_p99",
                "publish_vectors", "recommend_vectors_p50", "recommend_vectors_p99")
"""The steps the growth claim covers (``train`` adds the users × tracks scoring, O(N²) here)."""


_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Runs a command and writes its peak RSS (KiB) to a file. Linux copies a process's RSS high-water
mark into a child it forks and keeps it across ``exec``, so a step started straight from this
process (which holds the generated catalog: 2.7 GiB at 10M) would report at least that much; a
freshly started launcher is small, and the step it forks reports its own peak."""


def timed(args: list[str], log: Path) -> tuple[float, float, str]:
    """Run ``mmkg ARGS`` in a grandchild process, under :data:`_LAUNCHER`: (wall seconds, peak
    RSS MiB of the ``mmkg`` process, stdout); fails loudly."""
    started = time.perf_counter()
    with log.open("a") as handle, tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        handle.write(f"\n$ mmkg {shlex.join(args)}\n")
        handle.flush()
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, rss.name, *MMKG, *args],
                              stdout=subprocess.PIPE, stderr=handle, text=True, env=os.environ)
        out = proc.stdout
        peak_kib = float(rss.read() or "nan")
    seconds = time.perf_counter() - started
    with log.open("a") as handle:
        handle.write(out)
    if proc.returncode != 0:
        raise SystemExit(f"mmkg {shlex.join(args)} failed; see {log}")
    return seconds, peak_kib / 1024, out


def bulk_available() -> bool:
    """Whether this checkout's ``mmkg ingest`` offers ``--bulk`` (neo4j-admin database import)."""
    done = subprocess.run(MMKG + ["ingest", "--help"], capture_output=True, text=True, check=True)
    return "--bulk" in done.stdout


def publish_phases(out: str) -> dict[str, float]:
    """``{phase: seconds}`` from the ``phases: vectors 1.2 s, recommendations 30.4 s, ...`` line
    that ``mmkg publish`` prints."""
    line = next(line for line in out.splitlines() if line.startswith("phases: "))
    pairs = (item.rsplit(" ", 2)[:2] for item in line.removeprefix("phases: ").split(", "))
    return {name: float(seconds) for name, seconds in pairs}


def split_features(catalog: Path, features_only: Path) -> None:
    """Move the feature table to a second catalog of the tracks' ids and that table."""
    features_only.mkdir(parents=True)
    tracks = pd.read_csv(catalog / "tracks.csv", usecols=["id", "title"])
    tracks.to_csv(features_only / "tracks.csv", index=False)
    (catalog / "features").rename(features_only / "features")


def load() -> str:
    """The 1-minute load average, for printing beside a figure."""
    return f"load {os.getloadavg()[0]:.1f}"


def recommend_latency(users: list[str], queries: int, seed: int, clients: int = 1) -> tuple[float, float]:
    """p50 / p99 milliseconds of ``for_user`` over ``queries`` random users per client, ``clients``
    threads at once (one driver, warmed)."""
    settings = load_settings()
    driver = connect(settings)
    rng = random.Random(seed)
    picks = [[rng.choice(users) for _ in range(queries)] for _ in range(clients)]
    times: list[float] = []

    def client(mine: list[str]) -> None:
        for user in mine:
            t0 = time.perf_counter()
            for_user(driver, settings.neo4j.database, user, k=10)
            times.append((time.perf_counter() - t0) * 1000)

    try:
        for user in rng.sample(users, min(20, len(users))):
            for_user(driver, settings.neo4j.database, user, k=10)
        threads = [threading.Thread(target=client, args=(mine,)) for mine in picks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        driver.close()
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def exactness(run: Path, export: Path, n_users: int, seed: int, k: int = 20) -> float:
    """Mean over ``n_users`` random users of |``for_user``'s top-``k`` ∩ the exact top-``k``| / k,
    the exact one ranking every track the user did not listen to (any split) by the dot product
    of the run's vectors."""
    emb = RunFolder(run).load_embeddings()
    data = TrainData.from_export(ExportedGraph.load(export, mmap=True))
    listens = np.concatenate([data.split[s] for s in ("train", "valid", "test")])
    settings = load_settings()
    driver = connect(settings)
    overlaps = []
    try:
        for u in np.random.default_rng(seed).choice(len(emb.user_ids), n_users, replace=False):
            scores = emb.track @ emb.user[u]
            scores[listens[listens[:, 0] == u, 1]] = float("-inf")
            exact = {emb.track_ids[i] for i in scores.topk(k).indices.tolist()}
            got = for_user(driver, settings.neo4j.database, emb.user_ids[u], k=k).rows
            overlaps.append(len(exact & {r["trackId"] for r in got}) / k)
    finally:
        driver.close()
    return float(np.mean(overlaps))


def measure(n: int, work: Path, args: argparse.Namespace, bulk: bool, log: Path) -> dict:
    settings = load_settings()
    fresh_database(settings.neo4j.database, LocalServer(settings))
    driver = connect(settings)
    try:
        apply_schema(driver, settings.neo4j.database)
    finally:
        driver.close()
    catalog, features, export, run = (work / f"{n}-{name}" for name in ("catalog", "features", "export", "run"))
    t0 = time.perf_counter()
    synthetic_catalog(catalog, max(n // 50, 100), n, seed=args.seed)
    split_features(catalog, features)
    print(f"  catalog generated in {time.perf_counter() - t0:.1f} s", flush=True)
    row: dict = {"listens": n, "users": max(1, n // 20), "tracks": max(n // 50, 100), "rss_mb": {}}
    use_bulk = bulk and n >= 1_000_000
    row["bulk"] = use_bulk

    def step(name: str, cli_args: list[str]) -> str:
        seconds, rss, out = timed(cli_args, log)
        row[name], row["rss_mb"][name] = seconds, rss
        print(f"  {name:9s} {seconds:8.1f} s  peak RSS {rss:7.0f} MiB  ({load()})", flush=True)
        return out

    step("ingest", ["ingest", str(catalog), "--no-features", *(["--bulk"] if use_bulk else [])])
    step("features", ["ingest", str(features), "--no-features"])
    step("export", ["export", str(export), "--split-seed", str(args.seed)])
    n_train = json.loads((export / "manifest.json").read_text())["counts"]["split"]["train"]
    batch = max(1, -(-n_train // args.steps))
    step("train", ["train", "--export", str(export), "--out", str(run), "--set", "epochs=1", "--seed",
                   str(args.seed), "--set", f"batch_size={batch}", "--set", "valid_topk=false", "--set", "monitor=auc",
                   "--quiet"])
    metrics = json.loads((run / "metrics.json").read_text())
    row["epoch"], row["batch_size"] = metrics["seconds_per_epoch"], batch
    print(f"  epoch     {row['epoch']:8.1f} s  (batch {batch:,}, {args.steps} steps)", flush=True)
    users = json.loads((export / "id_maps.json").read_text())["User"]

    def latency(name: str) -> None:
        for clients in (1, args.clients):
            p50, p99 = recommend_latency(users, args.queries, args.seed, clients)
            suffix = "" if clients == 1 else f"_{clients}c"
            row[f"{name}_p50{suffix}"], row[f"{name}_p99{suffix}"] = p50 / 1000, p99 / 1000
            print(f"  {name} ({clients} client(s)) p50 {p50:.1f} ms  p99 {p99:.1f} ms  ({load()})",
                  flush=True)

    if args.serve == "both":
        out = step("publish", ["publish", str(run), "--keep", "0"])
        row["publish_phases"] = publish_phases(out)
        row["recommendations"] = int(re.search(r"(\d+) recommendations,", out).group(1))
        print("  publish phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in row["publish_phases"].items()),
              flush=True)
        latency("recommend")
    # --keep 1: the top-K version stays, so prune does not time deleting its RECOMMENDED (the
    # one-off cost of leaving top-K); a daily vector publish prunes vector versions, which have none
    out = step("publish_vectors", ["publish", str(run), "--keep", "1", "--serve", "vectors",
                                   "--model-id", f"{run.name}-vectors"])
    row["publish_vectors_phases"] = publish_phases(out)
    print("  publish --serve vectors phases: " + ", ".join(
        f"{k} {v:.1f} s" for k, v in row["publish_vectors_phases"].items()), flush=True)
    latency("recommend_vectors")
    row["exactness"] = exactness(run, export, min(args.exact_users, len(users)), args.seed)
    print(f"  exactness (mean overlap of top-20 with the exact top-20) {row['exactness']:.4f}  "
          f"({load()})", flush=True)
    return row


def slopes(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Least-squares slope of log(seconds) on log(listens) per step, and of the last interval."""
    out = {}
    for name in STEPS:
        pts = [(r["listens"], r[name]) for r in rows if r.get(name)]
        if len(pts) < 2:
            continue
        x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
        out[name] = {"slope": float(np.polyfit(x, y, 1)[0]),
                     "last": float((y[-1] - y[-2]) / (x[-1] - x[-2]))}
    return out


def plot(rows: list[dict], fitted: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name in STEPS:
        pts = [(r["listens"], r[name]) for r in rows if r.get(name)]
        if pts:
            label = f"{name} (slope {fitted[name]['slope']:.2f})" if name in fitted else name
            ax.plot(*zip(*pts), marker="o", label=label)
    xs = np.array([rows[0]["listens"], rows[-1]["listens"]], dtype=float)
    ax.plot(xs, xs / xs[0] * 0.05, "k:", label="slope 1 (reference)")
    ax.set(xscale="log", yscale="log", xlabel="listens", ylabel="seconds", title=title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _seconds(row: dict, key: str) -> str:
    return f"{row[key]:.1f}" if key in row else "–"


def _ms(row: dict, key: str) -> str:
    return f"{row[key] * 1000:.1f}" if key in row else "–"


def table(rows: list[dict], fitted: dict) -> str:
    head = "| listens | users | tracks | ingest s | features s | export s | epoch s (batch) | train s | publish s | recommend p50 / p99 ms |"
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        lines.append(f"| {r['listens']:,} | {r['users']:,} | {r['tracks']:,} | {r['ingest']:.1f}"
                     f"{' (bulk)' if r['bulk'] else ''} | {r['features']:.1f} | {r['export']:.1f} | "
                     f"{r['epoch']:.1f} ({r['batch_size']:,}) | {r['train']:.1f} | {_seconds(r, 'publish')} | "
                     f"{_ms(r, 'recommend_p50')} / {_ms(r, 'recommend_p99')} |")
    lines.append("| **fitted slope** (last interval) | | | " + " | ".join(
        f"{fitted[s]['slope']:.2f} ({fitted[s]['last']:.2f})" if s in fitted else "–"
        for s in ("ingest", "features", "export", "epoch", "train", "publish")) + " | " +
        (f"{fitted['recommend_p50']['slope']:.2f} / {fitted['recommend_p99']['slope']:.2f}"
         if "recommend_p50" in fitted else "–") + " |")
    return "\n".join(lines)


def phases_table(rows: list[dict]) -> str:
    """Seconds per ``mmkg publish`` phase and size, with the RECOMMENDED relationships per second."""
    rows = [r for r in rows if "publish_phases" in r]
    if not rows:
        return "(no top-K publish: --serve vectors)"
    names = list(rows[0]["publish_phases"])
    lines = ["| listens | RECOMMENDED | " + " | ".join(f"{n} s" for n in names) + " | RECOMMENDED/s |",
             "|" + "---|" * (len(names) + 3)]
    for r in rows:
        phases, written = r["publish_phases"], r["recommendations"]
        lines.append(f"| {r['listens']:,} | {written:,} | "
                     + " | ".join(f"{phases.get(n, 0):.1f}" for n in names)
                     + f" | {written / phases['recommendations']:,.0f} |")
    return "\n".join(lines)


def serving_table(rows: list[dict], clients: int) -> str:
    """Publish seconds and recommend latency (1 and ``clients`` clients) per serving mode and size."""
    lines = [f"| listens | serve | publish s | p50 / p99 ms, 1 client | p50 / p99 ms, {clients} clients | exactness@20 |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        for mode, publish, name, exact in (("topk", "publish", "recommend", "1 (exact)"),
                                           ("vectors", "publish_vectors", "recommend_vectors",
                                            f"{r['exactness']:.4f}")):
            if publish not in r:
                continue
            lines.append(f"| {r['listens']:,} | {mode} | {r[publish]:.1f} | "
                         f"{r[name + '_p50'] * 1000:.1f} / {r[name + '_p99'] * 1000:.1f} | "
                         f"{r[f'{name}_p50_{clients}c'] * 1000:.1f} / {r[f'{name}_p99_{clients}c'] * 1000:.1f} | {exact} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yes", action="store_true", help="allow emptying the configured database")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--steps", type=int, default=32, help="training steps per epoch")
    parser.add_argument("--queries", type=int, default=300, help="recommend queries per size and client")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients of the second latency run")
    parser.add_argument("--exact-users", type=int, default=200, help="users whose top-20 exactness is measured")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serve", choices=("both", "vectors"), default="both",
                        help="publish top-K and vectors (default), or only from vectors (skips the "
                             "O(users × K) RECOMMENDED write: 17 minutes at 10M)")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--plot", type=Path, default=Path("bench/scale.png"))
    parser.add_argument("--json", type=Path, default=Path("bench/scale.json"))
    args = parser.parse_args()
    if not args.yes:
        parser.error("this empties the configured Neo4j database: pass --yes")
    settings = load_settings()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    machine = (f"{os.cpu_count()} CPUs (nproc), {mem:.1f} GiB RAM, load average "
               f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at start (shared machine); Neo4j "
               f"{settings.neo4j.bolt_uri} heap {settings.neo4j.heap} pagecache {settings.neo4j.pagecache}")
    command = shlex.join([sys.executable, "-m", "bench.scale", *sys.argv[1:]])
    print(f"command: {command}\nmachine: {machine}", flush=True)
    bulk = bulk_available()
    print(f"mmkg ingest --bulk: {'available, used for N >= 1M' if bulk else 'not offered by this checkout'}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        log = work / "scale.log"
        for n in sorted(args.sizes):
            print(f"{n:,} listens", flush=True)
            rows.append(measure(n, work, args, bulk, log))
            fitted = slopes(rows)
            args.json.write_text(json.dumps({"command": command, "machine": machine, "rows": rows,
                                             "slopes": fitted}, indent=2))
    fitted = slopes(rows)
    plot(rows, fitted, args.plot, f"mmkg growth curve ({os.cpu_count()} shared CPUs)")
    print(table(rows, fitted))
    print(phases_table(rows))
    print(serving_table(rows, args.clients))
    worst = max(LINEAR_STEPS, key=lambda s: fitted.get(s, {}).get("slope", 0))
    print(f"steepest covered step: {worst} (slope {fitted.get(worst, {}).get('slope', float('nan')):.2f}); "
          f"plot {args.plot}, figures {args.json}")


if __name__ == "__main__":
    main()
