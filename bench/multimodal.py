"""Do the modalities help? MKGCN on a synthetic multi-modal catalog, with a drop-one ablation.

    .venv/bin/python bench/multimodal.py --work /tmp/mm --yes
    .venv/bin/python bench/multimodal.py --work /tmp/mm --yes --tracks 1200 --users 400 --seeds 0,1,2

One command: ``mmkg sample-catalog`` (planted taste: genre in the KG and the audio, mood only in
the lyrics and the cover, tempo only in the audio) → ``mmkg db reset`` + ``db init`` +
``mmkg ingest`` (computes the four media features) → one ``mmkg export`` with a fixed split seed →
``mmkg train --model mkgcn`` for every variant × seed from that one export → a markdown table of
test AUC, Recall@20, NDCG@20 (mean ± std over seeds) and seconds/epoch.

Variants: all modalities, each modality dropped in turn (``--modality`` lists the others), none
(``--no-modalities``: the same network without the fusion layer). Every variant shares the same
hyperparameters (:data:`TRAIN`); the epoch is selected by validation Recall@20 (early stopping on
validation) and test is evaluated once, on the selected model. Reference rows: ``kgcn`` (no
modalities, user-ID embedding) with the same settings, and ``pop`` (training popularity).

It EMPTIES the configured database (``MMKG_*`` settings), hence ``--yes``. Stages whose output
already exists in ``--work`` are reused (catalog, ingest stamp, export, each run's
``metrics.json``); a ``--work`` made with other sizes is refused. The table is printed and written
to ``WORK/table.md`` (and ``--table`` if given). Runs made with other :data:`TRAIN` settings
are refused (move ``WORK/runs`` away).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

MMKG = [str(Path(sys.executable).with_name("mmkg"))]
MONITOR = "recall@20"
"""Validation metric for epoch selection / early stopping (test is never looked at)."""
TRAIN = ["--dim", "32", "--lr", "0.002", "--epochs", "40", "--patience", "5", "--user-embedding"]
"""Hyperparameters shared by every variant (bench/lastfm.py's MKGCN settings with more epochs),
checked on validation only (seeds 0-2, default catalog): adding the user-ID embedding lifts
valid Recall@20 of ``none`` from 0.139 to 0.165 and of ``all`` from 0.192 to 0.197; lr 0.005
and L2 1e-3 did not help ``none``."""
REFERENCES = {"kgcn": ["--model", "kgcn"], "pop": ["--model", "pop"]}
METRICS = (("auc", "AUC"), ("recall@20", "Recall@20"), ("ndcg@20", "NDCG@20"))


def run(args: list[str], log: Path) -> None:
    """Run ``mmkg ARGS``, appending its output to ``log``; raise on failure."""
    with log.open("a") as handle:
        handle.write(f"$ mmkg {shlex.join(args)}\n")
        handle.flush()
        subprocess.run(MMKG + args, check=True, stdout=handle, stderr=subprocess.STDOUT, env=os.environ)


def prepare(args: argparse.Namespace, log: Path) -> Path:
    """Catalog → ingest → export, each stage skipped when its output is already in ``--work``."""
    work: Path = args.work
    params = {"tracks": args.tracks, "users": args.users, "interactions_per_user": args.interactions,
              "catalog_seed": args.catalog_seed, "split": args.split, "split_seed": args.split_seed}
    stamp = work / "params.json"
    if stamp.exists() and json.loads(stamp.read_text()) != params:
        sys.exit(f"{work} was prepared with {stamp.read_text()}; use another --work")
    stamp.write_text(json.dumps(params))
    catalog, ingested, export = work / "catalog", work / "ingested", work / "export"
    if not (catalog / "README.md").exists():
        run(["sample-catalog", str(catalog), "--tracks", str(args.tracks), "--users", str(args.users),
             "--seed", str(args.catalog_seed), "--interactions-per-user", str(args.interactions),
             "--force"], log)
    if not ingested.exists():
        run(["db", "reset", "--yes"], log)
        run(["db", "init"], log)
        run(["ingest", str(catalog), "--format", "catalog"], log)
        ingested.touch()
    if not (export / "manifest.json").exists():
        run(["export", str(export), "--split", args.split, "--seed", str(args.split_seed)], log)
    runs = work / "runs" / "train_args.json"
    if runs.exists() and json.loads(runs.read_text()) != TRAIN:
        sys.exit(f"{runs.parent} holds runs made with {runs.read_text()}; move it away")
    runs.parent.mkdir(exist_ok=True)
    runs.write_text(json.dumps(TRAIN))
    return export


def variants(features: list[str]) -> dict[str, list[str]]:
    """Variant name → ``mmkg train`` flags selecting the model and its modalities."""
    out = {"all": ["--modalities"]}
    for drop in features:
        out[f"− {drop}"] = ["--modalities", *[f for name in features if name != drop
                                               for f in ("--modality", name)]]
    out["none"] = ["--no-modalities"]
    return {**{k: ["--model", "mkgcn", *v] for k, v in out.items()}, **REFERENCES}


def train(work: Path, export: Path, name: str, flags: list[str], seed: int, threads: int) -> dict:
    """One run (reused when its ``metrics.json`` exists; log in its folder); returns the metrics."""
    out = work / "runs" / name.replace("− ", "minus-") / f"seed{seed}"
    if not (out / "metrics.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        run(["train", "--out", str(out), "--export", str(export), "--seed", str(seed),
             "--monitor", MONITOR, "--threads", str(threads), "--quiet", *TRAIN, *flags],
            out / "train.log")
    return json.loads((out / "metrics.json").read_text())


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
            f"torch {torch.__version__} (CPU)")


def table(results: dict[str, list[dict]], manifest: dict, args: argparse.Namespace) -> str:
    """The markdown report: setup lines, then one row per variant (mean ± std over seeds)."""
    counts = manifest["counts"]
    split = ", ".join(f"{k} {v}" for k, v in counts["split"].items() if k in ("train", "valid", "test"))
    feats = ", ".join(f"{n} ({m['kind']}, {m['dim']}-d)" for n, m in manifest["modalities"].items())
    lines = [
        f"**MKGCN modality ablation** — synthetic catalog: {args.tracks} tracks, {args.users} users, "
        f"~{args.interactions} interactions/user (catalog seed {args.catalog_seed}); "
        f"split `{args.split}` seed {args.split_seed}: {split}.",
        f"Features: {feats}.",
        f"Training (all variants): `{' '.join(TRAIN)}`, epoch selected on validation {MONITOR}; "
        f"seeds {args.seeds}; torch threads {args.threads}, {args.jobs} run(s) at a time.",
        f"Machine: {machine()}.",
        f"Command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        "",
        "| variant | " + " | ".join(f"test {label}" for _, label in METRICS)
        + " | valid Recall@20 | best epoch | s/epoch |",
        "|---|" + "---:|" * (len(METRICS) + 3),
    ]
    for name, runs in results.items():
        def stat(values: list[float], digits: int = 4) -> str:
            a = np.asarray(values, dtype=float)
            return f"{a.mean():.{digits}f} ± {a.std():.{digits}f}"

        cells = [stat([r["test"][k] for r in runs]) for k, _ in METRICS]
        cells.append(stat([r["valid"][MONITOR] for r in runs]))
        cells.append(stat([r["best_epoch"] for r in runs], 1))
        cells.append(f"{np.mean([r['seconds_per_epoch'] for r in runs]):.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if "all" in results and "none" in results:
        diff = [a["test"][MONITOR] - b["test"][MONITOR] for a, b in zip(results["all"], results["none"])]
        lines += ["", "Paired test Recall@20 gain of all over none, per seed: "
                  + ", ".join(f"{d:+.4f}" for d in diff) + f" (mean {np.mean(diff):+.4f})."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="Folder for catalog, export, runs, log.")
    parser.add_argument("--yes", action="store_true", help="Agree that the configured database is emptied.")
    parser.add_argument("--tracks", type=int, default=1200)
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--interactions", type=int, default=35, help="Mean interactions per user.")
    parser.add_argument("--catalog-seed", type=int, default=0)
    parser.add_argument("--split", default="ratio", help="Export split protocol (6:2:2 for ratio).")
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--seeds", default="0,1,2", help="Training seeds, comma-separated.")
    parser.add_argument("--variants", default=None,
                        help="Comma-separated subset of variant names (default: all of them).")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per run.")
    parser.add_argument("--jobs", type=int, default=1, help="Training runs at the same time.")
    parser.add_argument("--table", type=Path, default=None, help="Also write the table here.")
    args = parser.parse_args()
    if not args.yes:
        parser.error("this empties the configured Neo4j database: pass --yes")
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "bench.log"
    export = prepare(args, log)
    manifest = json.loads((export / "manifest.json").read_text())
    chosen = variants(sorted(manifest["modalities"]))
    if args.variants:
        keep = [v.strip() for v in args.variants.split(",")]
        chosen = {k: v for k, v in chosen.items() if k in keep or k.replace("− ", "-") in keep}
    seeds = [int(s) for s in args.seeds.split(",")]
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {name: [pool.submit(train, args.work, export, name, flags, seed, args.threads)
                          for seed in seeds] for name, flags in chosen.items()}
        results = {name: [f.result() for f in runs] for name, runs in futures.items()}
    report = table(results, manifest, args)
    print(report, flush=True)
    for path in filter(None, (args.work / "table.md", args.table)):
        path.write_text(report)


if __name__ == "__main__":
    main()
