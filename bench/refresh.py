"""Daily refresh: is a warm start (``mmkg train --init-from``) as good as a full retrain?

    .venv/bin/python -m bench.refresh --work /tmp/refresh --yes                    # everything
    .venv/bin/python -m bench.refresh --work /tmp/refresh --yes --datasets lastfm --split-seeds 0

Per dataset and split seed S:

1. **Day 0**: the data minus a held-back 10 % of its listens (``synthetic``: the last 10 % by
   ``ts``; ``lastfm``: ``user_artists.dat`` has no timestamps, so a random 10 % seeded by S) is
   ingested into an emptied database and exported (``mmkg export``).
2. **Day 1**: the held-back listens are ingested into the same database (``mmkg ingest`` of a
   folder holding only them) and the database is exported again with ``--split PROTOCOL
   --split-seed S`` (``lastfm``: ``topk-801010``, ``synthetic``: ``ratio`` 6:2:2). This day-1
   export is the one both arms are trained and evaluated on: same listens, same split, same test.
3. Day 0's split is **rewritten** from day 1's (matched by id, :func:`day0_split`): its valid
   and test are day 1's valid and test listens that exist on day 0, its train every other day-0
   listen. So no day-1 valid or test listen is ever a day-0 training listen (the warm-started
   weights never saw a listen it is tested on) and day 0's train is a subset of day 1's train;
   both are asserted. The day-0 model (``mmkg train`` defaults, seed S, selected on validation
   Recall@20; no ``--refit``, whose weights would have seen valid and test) is trained on it.
4. Day-1 arms, each one ``mmkg train`` (model seed S): ``full`` (the defaults, from scratch),
   ``full-reseed`` (the same with model seed S + 100: how far two full retrains land apart) and
   every ``warm-*`` of :data:`WARM` (``--init-from`` the day-0 run, a few epochs). The warm
   setting reported is the one with the best mean **validation** Recall@20 over the split seeds
   (test is read, never used to choose).

Prints the machine, the command, the load average, and per dataset a markdown table (mean ± std
over split seeds) with per-seed rows: valid and test Recall@20 / NDCG@20, test Δ warm − full,
and the wall time of each arm's ``mmkg train`` command. It EMPTIES the configured database
(``MMKG_*`` settings), hence ``--yes``. Finished steps in ``--work`` are reused (data folders,
exports, runs with a ``metrics.json``); ``WORK/db.json`` records what the database holds (it
trusts that nothing else wrote to that database since; delete the file if something did).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.lastfm import DATASET
from bench.multimodal import add_set_option, machine, run, set_flags

MONITOR = "recall@20"
HOLD = 0.1
"""The share of the listens held back from day 0."""
SPLITS = {"lastfm": ["--split", "topk-801010"], "synthetic": ["--split", "ratio", "--ratios", "6:2:2"]}
"""Each dataset's split protocol (as ``bench/lastfm.py`` and ``bench/multimodal.py``)."""
FULL: list[str] = []
"""The full retrain and the day-0 model: ``mmkg train`` with no flags (the defaults)."""
WARM: dict[str, list[str]] = {
    "warm-e0": ["--set", "epochs=0"],
    "warm-e3": ["--set", "epochs=3"],
    "warm-e5": ["--set", "epochs=5"],
    "warm-e10": ["--set", "epochs=10"],
    "warm-e5-lr2e-3": ["--set", "epochs=5", "--set", "lr=0.002"],
    "warm-e10-lr2e-3": ["--set", "epochs=10", "--set", "lr=0.002"],
}
"""Warm-start settings compared on validation (``--init-from`` the day-0 run, so
``train/configs/warm_start.toml``'s lr 1e-3 unless an arm sets its own; ``-lr2e-3``: the full
run's rate; patience 10, so each is the validation-best of its epochs).
``warm-e0`` trains nothing: the day-0 weights on the day-1 export (no refresh at all)."""
RESEED = 100
"""``full-reseed``: the full retrain again with model seed S + 100 (same export): how far two
full retrains that differ only by their seed land apart, the yardstick for warm − full."""


# -- the data of each day --------------------------------------------------------------------

def lastfm_days(root: Path, seed: int) -> tuple[Path, Path, dict]:
    """Last.FM's day-0 folder (the KGCN files, ``user_artists.dat`` without the held-back rows)
    and the held-back folder (the same item and KG files, only the held-back rows). The rows
    whose artist has no KG entity (dropped by ingest) are never held back."""
    day0, later = root / "day0", root / "holdback"
    listens = pd.read_csv(DATASET / "user_artists.dat", sep="\t")
    items = pd.read_csv(DATASET / "item_index2entity_id.txt", sep="\t", header=None)
    usable = np.flatnonzero(listens["artistID"].isin(items[0]).to_numpy())
    n_hold = int(round(HOLD * len(usable)))
    held = np.zeros(len(listens), dtype=bool)
    held[np.random.default_rng([seed, 22]).choice(usable, n_hold, replace=False)] = True
    if not (later / "user_artists.dat").exists():
        for folder, rows in ((day0, ~held), (later, held)):
            folder.mkdir(parents=True, exist_ok=True)
            for name in ("item_index2entity_id.txt", "kg.txt"):
                shutil.copyfile(DATASET / name, folder / name)
            listens[rows].to_csv(folder / ".user_artists.dat.partial", sep="\t", index=False)
            (folder / ".user_artists.dat.partial").replace(folder / "user_artists.dat")
    return day0, later, {"held_back": n_hold, "listens": len(usable),
                         "rule": f"random {HOLD:.0%} of the listens (seed {seed}): no timestamps"}


def synthetic_days(root: Path, args: argparse.Namespace) -> tuple[Path, Path, dict]:
    """A synthetic catalog (``mmkg sample-catalog``, seed 0, media) whose interactions table is
    its listens minus the last 10 % by ``ts`` (day 0), and a folder holding only those listens
    (with the ``tracks`` rows they name, id and title only: media and catalog stay day 0's)."""
    catalog, later = root / "catalog", root / "holdback"
    everything = root / "interactions-all.csv"
    log = root / "bench.log"
    params = {"tracks": args.tracks, "users": args.users, "interactions": args.interactions}
    stamp = root / "params.json"
    if stamp.exists() and json.loads(stamp.read_text()) != params:
        sys.exit(f"{root} holds a catalog made with {stamp.read_text()}; use another --work")
    if not (later / "interactions.csv").exists():
        root.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(params))
        run(["sample-catalog", str(catalog), "--tracks", str(args.tracks), "--users", str(args.users),
             "--seed", "0", "--interactions-per-user", str(args.interactions), "--force"], log)
        shutil.move(catalog / "interactions.csv", everything)
    listens = pd.read_csv(everything)
    order = np.lexsort((listens["track_id"], listens["user_id"], listens["ts"]))  # ties: by ids
    n_hold = int(round(HOLD * len(listens)))
    held = np.zeros(len(listens), dtype=bool)
    held[order[len(listens) - n_hold:]] = True
    if not (later / "interactions.csv").exists():
        listens[~held].to_csv(catalog / "interactions.csv", index=False)
        later.mkdir(parents=True, exist_ok=True)
        tracks = pd.read_csv(catalog / "tracks.csv")
        tracks[tracks["id"].isin(listens.loc[held, "track_id"])][["id", "title"]].to_csv(
            later / "tracks.csv", index=False)
        listens[held].to_csv(later / ".interactions.csv.partial", index=False)
        (later / ".interactions.csv.partial").replace(later / "interactions.csv")
    cut = pd.to_datetime(listens.loc[held, "ts"].min(), unit="s", utc=True)
    return catalog, later, {"held_back": n_hold, "listens": len(listens),
                            "rule": f"the last {HOLD:.0%} of the listens by ts (from {cut:%Y-%m-%d %H:%M} UTC)"}


def ingest(args: argparse.Namespace, state: dict, log: Path) -> None:
    """Bring the database to ``state`` (``{"data", "day"}``): reset + day 0 (+ held back)."""
    db = args.work / "db.json"
    now = json.loads(db.read_text()) if db.exists() else {}
    if now == state:
        return
    fmt = "kgcn" if state["dataset"] == "lastfm" else "catalog"
    if now != {**state, "day": 0}:
        db.unlink(missing_ok=True)
        run(["db", "reset", "--yes"], log)
        run(["db", "init"], log)
        run(["ingest", state["day0"], "--format", fmt], log)
        db.write_text(json.dumps({**state, "day": 0}))
    if state["day"] == 1:
        db.unlink(missing_ok=True)
        run(["ingest", state["holdback"], "--format", fmt, "--no-features"], log)
        db.write_text(json.dumps(state))


# -- day 0's split, from day 1's --------------------------------------------------------------

def day0_split(day0: Path, day1: Path, out: Path) -> dict:
    """Write ``out``: the export ``day0`` with its split rewritten from the day-1 export
    ``day1`` (matched by id): valid / test = day 1's valid / test listens present on day 0 (their
    CTR negatives: day 1's, where both ends exist on day 0), train = every other day-0 listen.
    Asserts that day 0's train is disjoint from day 1's valid and test and inside day 1's train;
    returns the part sizes."""
    from mmkg.export import ExportedGraph

    old, new = ExportedGraph.load(day0), ExportedGraph.load(day1, mmap=True)
    users0, tracks0 = old.id_maps["User"], old.id_maps["Track"]
    user_at = {u: i for i, u in enumerate(users0)}
    track_at = {t: i for i, t in enumerate(tracks0)}
    users1 = np.array([user_at.get(u, -1) for u in new.id_maps["User"]], dtype=np.int64)
    tracks1 = np.array([track_at.get(t, -1) for t in new.id_maps["Track"]], dtype=np.int64)
    width = len(tracks0)

    def keys(pairs: np.ndarray) -> np.ndarray:  # day-1 pairs → day-0 pair keys (-1: absent on day 0)
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        u, t = users1[pairs[:, 0]], tracks1[pairs[:, 1]]
        return np.where((u >= 0) & (t >= 0), u * width + t, -1)

    listened = np.unique(np.asarray(old.listened["user"]) * width + np.asarray(old.listened["track"]))
    held_out = np.union1d(keys(new.split["valid"]), keys(new.split["test"]))
    split = {"train": np.setdiff1d(listened, held_out)}
    for part in ("valid", "test"):
        k = keys(new.split[part])
        split[part] = np.sort(k[np.isin(k, listened)])
        negatives = keys(new.split.get(f"{part}_neg", np.empty((0, 2), np.int64)))
        split[f"{part}_neg"] = np.sort(negatives[negatives >= 0])
    assert not np.isin(split["train"], held_out).any(), "a day-1 valid/test listen in day 0's train"
    assert np.isin(split["train"], keys(new.split["train"])).all(), "day 0's train ⊄ day 1's train"
    old.split = {part: np.stack(np.divmod(k, width), axis=1).astype(np.int64) for part, k in split.items()}
    sizes = {part: len(k) for part, k in split.items()}
    counts = old.manifest.setdefault("counts", {})
    counts["split"] = {**counts.get("split", {}), **sizes}
    old.manifest["refresh_bench"] = {"split_from": str(day1), "note": "bench/refresh.py day0_split"}
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    old.save(partial)
    partial.replace(out)
    return sizes


# -- training ----------------------------------------------------------------------------------

def train(export: Path, out: Path, flags: list[str], seed: int, threads: int) -> dict:
    """One ``mmkg train`` (reused when its ``metrics.json`` exists); its metrics, with ``wall``:
    the seconds the whole command took (``wall.json``)."""
    if not (out / "metrics.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        run(["train", "--out", str(out), "--export", str(export), "--seed", str(seed),
             "--set", f"monitor={MONITOR}", "--threads", str(threads), "--quiet", *flags], out / "train.log")
        (out / "wall.json").write_text(json.dumps({"seconds": time.perf_counter() - started,
                                                   "load": os.getloadavg()}))
    metrics = json.loads((out / "metrics.json").read_text())
    wall = json.loads((out / "wall.json").read_text()) if (out / "wall.json").exists() else {}
    return {**metrics, "wall": wall.get("seconds", float("nan")), "load": wall.get("load")}


def dataset_runs(args: argparse.Namespace, dataset: str, splits: list[int], log: Path
                 ) -> tuple[dict[str, dict[int, dict]], dict]:
    """Every run of one dataset: ``{arm: {split seed: metrics}}`` and what was held back."""
    root = args.work / dataset
    extra = set_flags(args.overrides)
    results: dict[str, dict[int, dict]] = {}
    held: dict = {}
    for s in splits:
        if dataset == "lastfm":
            hold_root = root / f"hold-s{s}"
            day0_data, later, held[s] = lastfm_days(hold_root, s)
        else:
            hold_root = root / "hold-time"          # the same held-back listens for every seed
            day0_data, later, held[s] = synthetic_days(hold_root, args)
        state = {"dataset": dataset, "day0": str(day0_data), "holdback": str(later), **held[s]}
        raw0, export1 = hold_root / "export-day0", root / f"s{s}" / "export-day1"
        export0 = root / f"s{s}" / "export-day0"
        if not (raw0 / "manifest.json").exists():
            ingest(args, {**state, "day": 0}, log)
            run(["export", str(raw0), *SPLITS[dataset], "--split-seed", "0", "--force"], log)
        if not (export1 / "manifest.json").exists():
            ingest(args, {**state, "day": 1}, log)
            run(["export", str(export1), *SPLITS[dataset], "--split-seed", str(s), "--force"], log)
        if not (export0 / "manifest.json").exists():
            held[s]["day0_split"] = day0_split(raw0, export1, export0)
        else:
            held[s]["day0_split"] = json.loads((export0 / "manifest.json").read_text())["counts"]["split"]
        held[s]["day1_split"] = json.loads((export1 / "manifest.json").read_text())["counts"]["split"]
        runs = root / f"s{s}" / "runs"
        full = [*FULL, *extra]
        results.setdefault("day0", {})[s] = train(export0, runs / "day0", full, s, args.threads)
        results.setdefault("full", {})[s] = train(export1, runs / "full", full, s, args.threads)
        results.setdefault("full-reseed", {})[s] = train(export1, runs / f"full-seed{s + RESEED}", full,
                                                         s + RESEED, args.threads)
        for name in args.warm.split(","):
            results.setdefault(name, {})[s] = train(export1, runs / name,
                                                    ["--init-from", str(runs / "day0"), *WARM[name], *extra],
                                                    s, args.threads)
    return results, held


# -- the report --------------------------------------------------------------------------------

def stat(values, digits: int = 4) -> str:
    a = np.asarray(list(values), dtype=float)
    return f"{a.mean():.{digits}f} ± {a.std():.{digits}f}"


def report(dataset: str, results: dict[str, dict[int, dict]], held: dict, splits: list[int]) -> str:
    warm = [name for name in results if name.startswith("warm")]
    chosen = max(warm, key=lambda n: np.mean([results[n][s]["valid"][MONITOR] for s in splits]))
    full = results["full"]
    first = held[splits[0]]
    lines = [f"\n### {dataset}: split seeds {','.join(map(str, splits))}",
             f"Held back: {first['rule']}, {first['held_back']:,} of {first['listens']:,} listens. "
             f"Day-1 split (seed {splits[0]}): " + ", ".join(f"{k} {v:,}" for k, v in first["day1_split"].items()
                                                          if k in ("train", "valid", "test"))
             + "; day-0 split (from it): " + ", ".join(f"{k} {v:,}" for k, v in first["day0_split"].items()
                                                        if k in ("train", "valid", "test")) + ".",
             f"Warm setting chosen on mean validation {MONITOR}: **{chosen}** (`{' '.join(WARM[chosen])}`).", "",
             "| arm (day-1 export unless day 0) | valid R@20 | test R@20 | test NDCG@20 | test Δ R@20 vs full "
             "| test Δ NDCG@20 vs full | best epoch / run | `mmkg train` wall s | load (1 min) |",
             "|---|---:|---:|---:|---:|---:|---|---:|---|"]
    for name, by_seed in results.items():
        rs = [by_seed[s] for s in splits]
        if name in ("day0", "full"):
            dr = dn = "–"
        else:
            dr = stat(by_seed[s]["test"]["recall@20"] - full[s]["test"]["recall@20"] for s in splits)
            dn = stat(by_seed[s]["test"]["ndcg@20"] - full[s]["test"]["ndcg@20"] for s in splits)
        label = f"**{name}**" if name == chosen else name
        if name == "day0":
            label = "day 0 (day-0 export, its own test)"
        epochs = ", ".join(f"{r['best_epoch']}/{r['epochs_run']}" for r in rs)
        loads = ", ".join(f"{r['load'][0]:.1f}" if r.get("load") else "?" for r in rs)
        lines.append(
            f"| {label} | {stat(r['valid'][MONITOR] for r in rs)} | {stat(r['test']['recall@20'] for r in rs)} "
            f"| {stat(r['test']['ndcg@20'] for r in rs)} | {dr} | {dn} "
            f"| {epochs} | {stat((r['wall'] for r in rs), 1)} | {loads} |")
    lines += ["", "Per seed (test Recall@20 / NDCG@20; wall s of `mmkg train`):", "",
              "| split seed | full | full-reseed | " + " | ".join(warm)
              + f" | Δ R@20 {chosen} − full | within 0.005 |",
              "|---|---|---|" + "---|" * len(warm) + "---:|---|"]
    for s in splits:
        cells = [f"{r['test']['recall@20']:.4f} / {r['test']['ndcg@20']:.4f} ({r['wall']:.0f} s)"
                 for r in (full[s], results["full-reseed"][s], *(results[n][s] for n in warm))]
        d = results[chosen][s]["test"]["recall@20"] - full[s]["test"]["recall@20"]
        lines.append(f"| {s} | " + " | ".join(cells) + f" | {d:+.4f} | {'✔' if abs(d) <= 0.005 else '✘'} |")
    deltas = [results[chosen][s]["test"]["recall@20"] - full[s]["test"]["recall@20"] for s in splits]
    noise = [results["full-reseed"][s]["test"]["recall@20"] - full[s]["test"]["recall@20"] for s in splits]
    mean = float(np.mean(deltas))
    lines.append(f"\nMean Δ test Recall@20 ({chosen} − full): {mean:+.4f} "
                 f"({'within' if abs(mean) <= 0.005 else 'outside'} 0.005); per seed within 0.005 on "
                 f"{sum(abs(d) <= 0.005 for d in deltas)} of {len(splits)}. "
                 f"Two full retrains (model seed S vs S + {RESEED}): Δ "
                 + ", ".join(f"{d:+.4f}" for d in noise) + f" (mean |Δ| {np.mean(np.abs(noise)):.4f}).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--yes", action="store_true", help="Agree that the configured database is emptied.")
    parser.add_argument("--datasets", default="lastfm,synthetic")
    parser.add_argument("--split-seeds", default="0,1,2")
    parser.add_argument("--warm", default=",".join(WARM), help="warm settings (names in WARM) to compare")
    parser.add_argument("--tracks", type=int, default=2000, help="synthetic catalog size")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--interactions", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    add_set_option(parser)
    args = parser.parse_args()
    if not args.yes:
        parser.error("this empties the configured Neo4j database: pass --yes")
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "bench.log"
    splits = [int(s) for s in args.split_seeds.split(",")]
    load = os.getloadavg()
    print(f"machine: {machine()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the start "
          f"(shared machine: wall times compare within one run)\n"
          f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    for dataset in args.datasets.split(","):
        results, held = dataset_runs(args, dataset, splits, log)
        text = report(dataset, results, held, splits)
        print(text, flush=True)
        (args.work / f"{dataset}.md").write_text(text + "\n")
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
