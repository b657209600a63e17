"""Latency of the published read queries, and publish throughput, on a synthetic graph.

Builds ``--tracks`` tracks (``--genres`` genres, ``--artists`` artists), ``--users`` users with
``--listens`` LISTENED each (from their favourite genre), publishes a synthetic training run
(d = ``--dim``, exact top-``--topk``) with ``mmkg.publish.writer.publish``, then times
``recommend.cypher``, ``similar_tracks.cypher``, ``explain.cypher`` and ``cold_start.cypher``
(from 3 random tracks; and of one genre, ``--genre``) with 1 and ``--clients``
concurrent clients (threads, one session each), ``--loops`` queries per client, and
``explain.cypher`` for one track's reasons as ``mmkg similar --explain`` asks them; then deletes
``--takedown`` random tracks as ``mmkg delete-tracks`` does, then ``--forget`` random users as
``mmkg delete-users`` does, and times each.

It EMPTIES the configured database first (``--yes`` required)::

    MMKG_NEO4J_BOLT_PORT=7705 ... python bench/query.py --yes            # 100k tracks, 10k users
    python bench/query.py --yes --tracks 5000 --users 500 --loops 50      # a quick run
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path


import numpy as np
import torch


from mmkg.config import load_settings
from mmkg.graph import connect, load_query, load_statements, run_batches
from mmkg.graph.schema import apply_schema, reset_database
from mmkg.ingest.deletion import forget_users, take_down
from mmkg.publish.writer import publish
from mmkg.train.run_folder import Embeddings, RunFolder

QUERIES = Path(__file__).with_name("cypher")
"""The benchmark's own queries (bench/cypher/)."""
GRAPH = dict(zip(("genres", "artists", "tracks", "listens"), load_statements(QUERIES / "query_build.cypher")))


def build_graph(driver, database: str, args, rng: np.random.Generator) -> dict[str, list]:
    """Create the synthetic catalogue and listens; return each user's listened track indices."""
    genre_of = np.arange(args.tracks) % args.genres
    by_genre = [np.flatnonzero(genre_of == g) for g in range(args.genres)]
    listened = {f"u{u}": rng.choice(by_genre[u % args.genres], args.listens, replace=False)
                for u in range(args.users)}
    tables = {
        "genres": [{"id": f"g{g}", "name": f"genre {g}"} for g in range(args.genres)],
        "artists": [{"id": f"a{a}", "name": f"artist {a}"} for a in range(args.artists)],
        "tracks": [{"id": f"t{i}", "title": f"track {i}", "genre": f"g{genre_of[i]}",
                    "artist": f"a{i % args.artists}"} for i in range(args.tracks)],
        "listens": [{"user": u, "tracks": [f"t{i}" for i in ts]} for u, ts in listened.items()],
    }
    for name, rows in tables.items():
        started = time.perf_counter()
        run_batches(driver, database, GRAPH[name], rows, batch_size=2000)
        print(f"created {len(rows):>7} {name:<8} in {time.perf_counter() - started:6.1f} s")
    return listened


def write_run(path: Path, args, listened: dict, rng: np.random.Generator) -> Path:
    """A training output folder: genre-clustered vectors and the exact top-k of user · track."""
    gen = torch.Generator().manual_seed(args.seed)
    centres = torch.randn(args.genres, args.dim, generator=gen)
    track = centres[torch.arange(args.tracks) % args.genres] + 0.7 * torch.randn(
        args.tracks, args.dim, generator=gen)
    user = centres[torch.arange(args.users) % args.genres] + 0.7 * torch.randn(
        args.users, args.dim, generator=gen)
    items, scores = [], []
    for start in range(0, args.users, 1000):
        s, i = torch.topk(user[start:start + 1000] @ track.T, args.topk, dim=1)
        items.append(i)
        scores.append(s)
    run = RunFolder(path)
    run.save_embeddings(Embeddings(
        track_ids=[f"t{i}" for i in range(args.tracks)], user_ids=list(listened),
        track=track, user=user, topk_items=torch.cat(items), topk_scores=torch.cat(scores)))
    run.save_config(json.loads(json.dumps(vars(args), default=str)))
    run.save_metrics({"test": {}})
    export = path / "export"  # the bench graph is written directly, not exported: a stub manifest
    export.mkdir(exist_ok=True)
    (export / "manifest.json").write_text(json.dumps({"source": "bench/query.py"}))
    run.save_model({}, config=run.load_config(), export=export, epoch=0)
    return path


def _consume(tx, query: str, params: dict) -> None:
    tx.run(query, params).consume()


def timed_loop(driver, database: str, query: str, params: list[dict], out: list[float]) -> None:
    """Run ``query`` once per params dict in one session, appending latencies (ms) to ``out``."""
    with driver.session(database=database) as session:
        for p in params:
            started = time.perf_counter()
            session.execute_read(_consume, query, p)
            out.append((time.perf_counter() - started) * 1000)


def measure(driver, database: str, name: str, make_params, clients: int, loops: int) -> dict:
    query = load_query(name)
    timed_loop(driver, database, query, [make_params() for _ in range(20)], [])  # warm-up
    latencies: list[list[float]] = [[] for _ in range(clients)]
    threads = [threading.Thread(target=timed_loop, args=(
        driver, database, query, [make_params() for _ in range(loops)], latencies[c]))
        for c in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ms = np.array([x for xs in latencies for x in xs])
    return {"query": name, "clients": clients, "n": len(ms), "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": statistics.fmean(ms),
            "qps": len(ms) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--yes", action="store_true", help="confirm: the database is emptied")
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--artists", type=int, default=5_000)
    parser.add_argument("--genres", type=int, default=20)
    parser.add_argument("--listens", type=int, default=20)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--topk", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--loops", type=int, default=200, help="queries per client per measurement")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-build", action="store_true", help="reuse the graph already there")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--takedown", type=int, default=1000,
                        help="at the end, delete this many random tracks (`mmkg delete-tracks`); 0 = none")
    parser.add_argument("--forget", type=int, default=1000,
                        help="then delete this many random users (`mmkg delete-users`); 0 = none")
    args = parser.parse_args()
    if not args.yes and not args.skip_build:
        parser.error("this empties the configured database: pass --yes")

    settings = load_settings()
    driver = connect(settings)
    database = settings.neo4j.database
    rng = np.random.default_rng(args.seed)
    results: dict = {"config": {k: str(v) for k, v in vars(args).items()}}
    if not args.skip_build:
        reset_database(driver, database)
        apply_schema(driver, database)
        listened = build_graph(driver, database, args, rng)
        with tempfile.TemporaryDirectory() as tmp:
            run = write_run(Path(tmp) / "bench-run", args, listened, rng)
            for attempt in ("first", "second"):  # the second one swaps over an existing version
                s = publish(driver, database, run if attempt == "first" else
                            write_run(Path(tmp) / "bench-run-2", args, listened, rng),
                            batch_size=args.batch_size, progress=False)
                rows = s.recommendations + s.tracks + s.users
                print(f"publish ({attempt}): {rows} rows in {s.seconds:.1f} s = "
                      f"{s.rows_per_second:,.0f} rows/s; phases: {s.phases_line()}")
                results[f"publish_{attempt}"] = {"rows": rows, "seconds": s.seconds,
                                                 "rows_per_s": s.rows_per_second,
                                                 "phase_seconds": s.phase_seconds}

    users = [f"u{u}" for u in range(args.users)]
    records, _, _ = driver.execute_query(load_query(QUERIES / "query_top_pairs.cypher"), database_=database)
    pairs = [(r["u"], r["t"]) for r in records]
    def liked(genre: bool) -> dict:
        """A cold start from 3 random tracks, of any genre or of a random one."""
        return {"trackIds": [f"t{t}" for t in rng.integers(args.tracks, size=3)], "k": 10,
                "genre": f"g{rng.integers(args.genres)}" if genre else None, "newOnly": False}

    params = {  # label: (query, parameters)
        "recommend": ("recommend", lambda: {"userId": users[rng.integers(len(users))], "k": 10,
                                            "genre": None, "newOnly": False}),
        "similar_tracks": ("similar_tracks", lambda: {"trackId": f"t{rng.integers(args.tracks)}", "k": 10}),
        "explain": ("explain", lambda: dict(zip(("userId", "explainedTrackId"),
                                                pairs[rng.integers(len(pairs))]),
                                            likedTrackIds=None, similarTo=None, limit=5)),
        "explain similar": ("explain", lambda: {  # `mmkg similar --explain`: one track's reasons
            "userId": None, "likedTrackIds": None, "similarTo": f"t{rng.integers(args.tracks)}",
            "explainedTrackId": f"t{rng.integers(args.tracks)}", "limit": 5}),
        "cold_start": ("cold_start", lambda: liked(genre=False)),
        "cold_start genre": ("cold_start", lambda: liked(genre=True)),
    }
    results["latency"] = []
    print(f"{'query':<18}{'clients':>8}{'n':>7}{'p50 ms':>9}{'p99 ms':>9}{'qps':>8}")
    for clients in (1, args.clients):
        for label, (name, make) in params.items():
            r = {**measure(driver, database, name, make, clients, args.loops), "label": label}
            results["latency"].append(r)
            print(f"{label:<18}{clients:>8}{r['n']:>7}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['qps']:>8.0f}")
    deletions = {"takedown": (take_down, "delete-tracks", "tracks", "t", args.tracks, args.takedown),
                 "forget": (forget_users, "delete-users", "users", "u", args.users, args.forget)}
    for key, (delete, command, what, prefix, population, n) in deletions.items():
        if not n:
            continue
        ids = [f"{prefix}{i}" for i in rng.choice(population, n, replace=False)]
        started = time.perf_counter()
        done = delete(driver, database, ids)
        seconds = time.perf_counter() - started
        results[key] = {what: done.deleted, "listens": done.removed["listens"],
                        "recommendations": done.removed["recommendations"], "seconds": seconds}
        print(f"{command}: {done.deleted:,} {what} with {done.removed['listens']:,} listens and "
              f"{done.removed['recommendations']:,} recommendations in {seconds:.1f} s "
              f"({done.deleted / seconds:,.0f} {what}/s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    driver.close()


if __name__ == "__main__":
    main()
