"""Does MKGCN beat popularity and LightGCN, and do the modalities help? Synthetic multi-modal
catalogs (optionally popularity-skewed), one catalog, split and model seed per repetition.

    .venv/bin/python bench/multimodal.py --work /tmp/mm --yes --seeds 0,1,2
    .venv/bin/python bench/multimodal.py --work /tmp/mm-skew --yes --seeds 0,1,2 --popularity-skew 1.0
    .venv/bin/python bench/multimodal.py --work /tmp/mm --yes --seeds 0 --drop-one   # + drop-one ablation

For every seed S: ``mmkg sample-catalog`` with seed S (planted taste: genre in the KG and the
audio, mood only in the lyrics and the cover, tempo only in the audio; ``--popularity-skew``
makes listens heavy-tailed) → ``mmkg db reset`` + ``db init`` + ``mmkg ingest`` (computes the
four media features) → ``mmkg export`` with split seed S → ``mmkg train`` per variant with seed S.
Prints per-seed test metrics, mean ± std over seeds, and the paired per-seed checks the ranking
issue asks for (MKGCN − popularity AUC and relative Recall@20; all > none > LightGCN).

Variants: ``all`` (the default MKGCN with every modality), ``none`` (the same network without the
fusion layer), ``lightgcn`` (BPR), ``lightgcn-softmax`` (MKGCN's objective), ``pop``;
``--drop-one`` adds each modality dropped in turn. MKGCN
variants share :data:`TRAIN`; LightGCN uses :data:`LIGHTGCN` (both the Last.FM settings of
``bench/lastfm.py``, chosen on Last.FM validation); the epoch is selected on validation
Recall@20 and test is evaluated once.

It EMPTIES the configured database (``MMKG_*`` settings), hence ``--yes``. Stages whose output
already exists in ``--work`` are reused (catalog, ingest stamp, export, each run's
``metrics.json``). The report is printed and written to ``WORK/table.md``.
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
TRAIN = ["--model", "mkgcn"]
"""Every MKGCN variant: the defaults of ``mmkg train``."""
LIGHTGCN = ["--model", "lightgcn", "--set", "loss=bpr", "--set", "negatives=ratio", "--set", "neg_ratio=1",
            "--set", "temperature=1", "--set", "batch_size=128", "--set", "lr=0.005", "--set", "epochs=40", "--set", "patience=3"]
"""LightGCN as in bench/lastfm.py (BPR, one negative per positive)."""
REFERENCES = {"lightgcn": LIGHTGCN, "lightgcn-softmax": ["--model", "lightgcn"], "pop": ["--model", "pop"]}
"""``lightgcn-softmax``: LightGCN trained with MKGCN's default objective (the ablation that
separates what the objective brings from what the KG and the modalities bring)."""
METRICS = (("auc", "AUC"), ("recall@20", "Recall@20"), ("ndcg@20", "NDCG@20"))


def run(args: list[str], log: Path) -> None:
    """Run ``mmkg ARGS``, appending its output to ``log``; raise on failure."""
    with log.open("a") as handle:
        handle.write(f"$ mmkg {shlex.join(args)}\n")
        handle.flush()
        subprocess.run(MMKG + args, check=True, stdout=handle, stderr=subprocess.STDOUT, env=os.environ)


def prepare(args: argparse.Namespace, work: Path, seed: int, log: Path) -> Path:
    """Catalog → ingest → export for one seed, each stage skipped when its output exists."""
    params = {"tracks": args.tracks, "users": args.users, "interactions_per_user": args.interactions,
              "popularity_skew": args.popularity_skew, "seed": seed, "split": args.split}
    work.mkdir(parents=True, exist_ok=True)
    stamp = work / "params.json"
    if stamp.exists() and json.loads(stamp.read_text()) != params:
        sys.exit(f"{work} was prepared with {stamp.read_text()}; use another --work")
    stamp.write_text(json.dumps(params))
    catalog, ingested, export = work / "catalog", work / "ingested", work / "export"
    if not (catalog / "README.md").exists():
        run(["sample-catalog", str(catalog), "--tracks", str(args.tracks), "--users", str(args.users),
             "--seed", str(seed), "--interactions-per-user", str(args.interactions), "--force",
             *(["--popularity-skew", str(args.popularity_skew)] if args.popularity_skew else [])], log)
    if not ingested.exists():
        run(["db", "reset", "--yes"], log)
        run(["db", "init"], log)
        run(["ingest", str(catalog), "--format", "catalog"], log)
        ingested.touch()
    if not (export / "manifest.json").exists():
        run(["export", str(export), "--split", args.split, "--split-seed", str(seed)], log)
    return export


def variants(features: list[str], drop_one: bool) -> dict[str, list[str]]:
    """Variant name → ``mmkg train`` flags selecting the model and its modalities."""
    out = {"all": [*TRAIN, "--set", "model.modalities=true"]}
    for drop in features if drop_one else []:
        kept = json.dumps([name for name in features if name != drop])
        out[f"− {drop}"] = [*TRAIN, "--set", "model.modalities=true",
                            "--set", f"model.modality_names={kept}"]
    out["none"] = [*TRAIN, "--set", "model.modalities=false"]
    return {**out, **REFERENCES}


def train(work: Path, export: Path, name: str, flags: list[str], seed: int, threads: int) -> dict:
    """One run (reused when its ``metrics.json`` exists; log in its folder); returns the metrics."""
    out = work / "runs" / name.replace("− ", "minus-") / f"seed{seed}"
    if not (out / "metrics.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        run(["train", "--out", str(out), "--export", str(export), "--seed", str(seed),
             "--set", f"monitor={MONITOR}", "--threads", str(threads), "--quiet", *flags],
            out / "train.log")
    return json.loads((out / "metrics.json").read_text())


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE`` (repeatable, into ``args.overrides``): a setting for every ``mmkg train``
    the bench runs; :func:`set_flags` turns them back into flags."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to every mmkg train as --set KEY=VALUE (repeatable); e.g. "
                             "model.kg.gate=0: MKGCN as it was before the degree gate became its default")


def set_flags(overrides: list[str]) -> list[str]:
    """``["--set", KEY=VALUE, ...]`` for the ``--set`` values of :func:`add_set_option`."""
    return [flag for kv in overrides for flag in ("--set", kv)]


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


def table(results: dict[str, dict[int, dict]], manifests: dict[int, dict], args: argparse.Namespace) -> str:
    """The markdown report: setup, per-seed test Recall@20, mean ± std, the paired checks."""
    seeds = sorted(manifests)
    counts = manifests[seeds[0]]["counts"]
    split = ", ".join(f"{k} {v}" for k, v in counts["split"].items() if k in ("train", "valid", "test"))
    feats = ", ".join(f"{n} ({m['kind']}, {m['dim']}-d)" for n, m in manifests[seeds[0]]["modalities"].items())
    lines = [
        f"Synthetic catalogs: {args.tracks} tracks, {args.users} users, ~{args.interactions} "
        f"interactions/user, popularity skew {args.popularity_skew}; seeds {args.seeds} (catalog = "
        f"split = model seed); split `{args.split}` (seed {seeds[0]}: {split}). Features: {feats}.",
        f"MKGCN variants: `{' '.join(TRAIN)}`; LightGCN: `{' '.join(LIGHTGCN)}`; epoch selected on "
        f"validation {MONITOR}. Machine: {machine()}. Command: "
        f"`{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        "",
        "| variant | " + " | ".join(f"test {label}" for _, label in METRICS)
        + " | test Recall@20 per seed | s/epoch |",
        "|---|" + "---:|" * (len(METRICS) + 2),
    ]
    for name, by_seed in results.items():
        def stat(values: list[float], digits: int = 4) -> str:
            a = np.asarray(values, dtype=float)
            return f"{a.mean():.{digits}f} ± {a.std():.{digits}f}"

        runs = [by_seed[s] for s in seeds]
        cells = [stat([r["test"][k] for r in runs]) for k, _ in METRICS]
        cells.append(", ".join(f"{r['test'][MONITOR]:.4f}" for r in runs))
        cells.append(f"{np.mean([r['seconds_per_epoch'] for r in runs]):.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for s in seeds:
        r = {name: by_seed[s]["test"] for name, by_seed in results.items()}
        auc_gain = r["all"]["auc"] - r["pop"]["auc"]
        rel = r["all"][MONITOR] / max(r["pop"][MONITOR], 1e-12) - 1
        order = r["all"][MONITOR] > r["none"][MONITOR] > r["lightgcn"][MONITOR]
        lines.append(f"- seed {s}: MKGCN − pop AUC {auc_gain:+.4f} ({'✔' if auc_gain >= 0.03 else '✘'} ≥ 0.03), "
                     f"Recall@20 {rel:+.1%} vs pop ({'✔' if rel >= 0.2 else '✘'} ≥ +20 %); "
                     f"all {r['all'][MONITOR]:.4f} > none {r['none'][MONITOR]:.4f} > LightGCN "
                     f"{r['lightgcn'][MONITOR]:.4f}: {'✔' if order else '✘'}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="Folder for catalogs, exports, runs, log.")
    parser.add_argument("--yes", action="store_true", help="Agree that the configured database is emptied.")
    parser.add_argument("--tracks", type=int, default=600)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--interactions", type=int, default=35, help="Mean interactions per user.")
    parser.add_argument("--popularity-skew", type=float, default=0.0)
    parser.add_argument("--split", default="ratio", help="Export split protocol (6:2:2 for ratio).")
    parser.add_argument("--seeds", default="0,1,2", help="Catalog = split = model seeds, comma-separated.")
    parser.add_argument("--drop-one", action="store_true", help="Add the drop-one-modality variants.")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per run.")
    parser.add_argument("--jobs", type=int, default=1, help="Training runs at the same time.")
    add_set_option(parser)
    args = parser.parse_args()
    if not args.yes:
        parser.error("this empties the configured Neo4j database: pass --yes")
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "bench.log"
    results: dict[str, dict[int, dict]] = {}
    manifests: dict[int, dict] = {}
    extra = set_flags(args.overrides)
    for seed in (int(s) for s in args.seeds.split(",")):
        work = args.work / f"seed{seed}"
        export = prepare(args, work, seed, log)
        manifests[seed] = json.loads((export / "manifest.json").read_text())
        chosen = variants(sorted(manifests[seed]["modalities"]), args.drop_one)
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = {name: pool.submit(train, work, export, name, [*flags, *extra], seed, args.threads)
                       for name, flags in chosen.items()}
            for name, future in futures.items():
                results.setdefault(name, {})[seed] = future.result()
    report = table(results, manifests, args)
    print(report, flush=True)
    (args.work / "table.md").write_text(report)


if __name__ == "__main__":
    main()
