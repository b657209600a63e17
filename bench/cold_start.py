"""Cold start (new tracks): can content and the KG place tracks that have no listen at all?

    .venv/bin/python -m bench.cold_start --work /tmp/cold --yes                     # everything
    .venv/bin/python -m bench.cold_start --work /tmp/cold --yes --datasets plain,skew --tracks 400
    .venv/bin/python -m bench.cold_start --work /tmp/cold --yes --datasets skew --model-seeds 0,10,20

Datasets: ``lastfm`` (``shared/datasets/lastfm-kgcn``, KG only, no media; ``mmkg ingest
--format kgcn``), ``plain`` and ``skew`` (synthetic catalogs with media, built by
:func:`multimodal.prepare` from catalog seed 0; ``skew`` with ``--popularity-skew 1.0``). Each is
exported with ``mmkg export --split cold-items --split-seed S`` for every split seed S (20 % of the
tracks held out entirely: their listens go half to validation, half to test, per user), then
every variant of :data:`VARIANTS` is trained with model seed S (``--model-seeds 0,10,20``: seeds
S, S+10 and S+20, and each split's figures are their means, to tell a split the model loses from
a model seed that lost it). Epochs are selected on validation
(warm) Recall@20, test is read once. Prints per dataset the validation and test tables (cold,
mixed and warm metrics, mean ± std over split seeds) and the per-seed check that MKGCN beats every
baseline on cold Recall@20 and NDCG@20.

It EMPTIES the configured database (``MMKG_*`` settings), hence ``--yes``. Exports and runs
already in ``--work`` are reused; a dataset whose exports are incomplete is ingested again.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import numpy as np

from bench.lastfm import DATASET
from bench.multimodal import machine, prepare, run

MONITOR = "recall@20"
VARIANTS: dict[str, list[str]] = {
    "random": ["--model", "random"],
    "kg-pop": ["--model", "kg-pop"],
    "kg-knn": ["--model", "kg-knn"],
    "content-knn": ["--model", "content-knn"],
    "lightgcn": ["--model", "lightgcn"],
    "mkgcn": ["--model", "mkgcn"],
    "mkgcn-keepid": ["--model", "mkgcn", "--set", "model.id_dropout=0"],
    "mkgcn-nomod": ["--model", "mkgcn", "--set", "model.modalities=false"],
    "mkgcn-shrink": ["--model", "mkgcn", "--set", "model.kg.hop_mean_if_empty=false"],
    "mkgcn-nogate": ["--model", "mkgcn", "--set", "model.kg.gate=0", "--set", "model.kg.hop_mean_if_empty=false"],
    "mkgcn-balanced": ["--model", "mkgcn", "--set", "model.new_track_balance=0.5"],
    "mkgcn-coldsel": ["--model", "mkgcn", "--set", "monitor=cold_recall@20", "--set", "patience=100"],
}
"""Variant → ``mmkg train`` flags. ``lightgcn`` uses MKGCN's objective (softmax); ``mkgcn`` is the
defaults (ID dropout p = 0.5: new tracks always without ID); ``-keepid``: p = 0 (every item keeps
its ID embedding, the default before the cold-start work); ``-nomod``: the defaults without the
fusion layer; ``-shrink``: the defaults with ``model.kg.hop_mean_if_empty=false`` (an item without
ID and media keeps the gated mix with its empty layer 0, the defaults before the option; on the
synthetic catalogs, where every track has media, the same as ``mkgcn``); ``-nogate``: that and KG
degree gate 0 (every KG hop counts fully, the defaults before the gate); ``-balanced``: the
new-track term balanced by popularity (α = 0.5: a positive of a track with n training listens
kept with probability n^-0.5); ``-coldsel``: the defaults with the
epoch selected on validation *cold* Recall@20 instead of warm, over all 100 epochs (cold
validation rises, dips and rises again: stopped after 10 epochs without gain it would keep an early
peak). Every other trained variant runs ``mmkg
train``'s epoch settings (at most 100, early stop after 10 without validation gain)."""
BASELINES = ("random", "kg-pop", "kg-knn", "content-knn", "lightgcn")
MEDIA_ONLY = ("content-knn", "mkgcn-nomod")
"""Variants that need (or differ only by) media features: not run on Last.FM."""
COLUMNS = (("cold_recall@20", "cold R@20"), ("cold_ndcg@20", "cold N@20"), ("mixed_recall@20", "mixed R@20"),
           ("mixed_ndcg@20", "mixed N@20"), ("mixed_cold_share@20", "cold share top-20"),
           ("recall@20", "warm R@20"), ("ndcg@20", "warm N@20"))


def exports(args: argparse.Namespace, dataset: str, splits: list[int], log: Path) -> dict[int, Path]:
    """Ingest ``dataset`` (unless every split's export exists) and export each split seed."""
    root = args.work / dataset
    paths = {s: root / f"export-s{s}" for s in splits}
    if all((p / "manifest.json").exists() for p in paths.values()):
        return paths
    if dataset == "lastfm":
        root.mkdir(parents=True, exist_ok=True)
        run(["db", "reset", "--yes"], log)
        run(["db", "init"], log)
        run(["ingest", str(DATASET), "--format", "kgcn"], log)
    else:
        catalog = argparse.Namespace(tracks=args.tracks, users=args.users, interactions=args.interactions,
                                     popularity_skew=1.0 if dataset == "skew" else 0.0, split="cold-items")
        (root / "seed0" / "ingested").unlink(missing_ok=True)       # the database may hold another
        prepare(catalog, root / "seed0", 0, log)
    for s, path in paths.items():
        if not (path / "manifest.json").exists():
            run(["export", str(path), "--split", "cold-items", "--split-seed", str(s), "--force"], log)
    return paths


def run_folder(work: Path, dataset: str, variant: str, split: int, offset: int) -> Path:
    """Where ``variant`` trained on split seed ``split`` with model seed ``split + offset``."""
    return work / dataset / "runs" / variant / (f"s{split}-m{split + offset}" if offset else f"s{split}")


def train(export: Path, out: Path, flags: list[str], seed: int, threads: int) -> dict:
    if not (out / "metrics.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        run(["train", "--out", str(out), "--export", str(export), "--seed", str(seed), "--set", f"monitor={MONITOR}",
             "--threads", str(threads), "--quiet", *flags], out / "train.log")
    return json.loads((out / "metrics.json").read_text())


def mean_metrics(runs: list[dict]) -> dict:
    """The ``valid`` and ``test`` metrics of one split's runs (one per model seed), averaged."""
    return {part: {key: float(np.mean([r[part].get(key, np.nan) for r in runs])) for key in runs[0][part]}
            for part in ("valid", "test")}


def table(results: dict[str, dict[int, dict]], part: str) -> list[str]:
    lines = ["| variant | " + " | ".join(f"{part} {label}" for _, label in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for name, by_seed in results.items():
        cells = []
        for key, _ in COLUMNS:
            v = np.array([r[part].get(key, np.nan) for r in by_seed.values()])
            cells.append(f"{v.mean():.4f} ± {v.std():.4f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def checks(results: dict[str, dict[int, dict]], model: str, part: str = "test") -> list[str]:
    """Per seed: does ``model`` beat every baseline on ``part`` (``test``, or ``valid`` to tell a
    test miss of one seed from a model that is behind) cold Recall@20 and NDCG@20? No lines when
    no baseline of :data:`BASELINES` was run."""
    if not any(b in results for b in BASELINES):
        return []
    lines = []
    for s in sorted(results[model]):
        for key in ("cold_recall@20", "cold_ndcg@20"):
            mine = results[model][s][part][key]
            best = max((b for b in BASELINES if b in results), key=lambda b: results[b][s][part][key])
            theirs = results[best][s][part][key]
            margin = mine - theirs
            lines.append(f"- split seed {s}, {model} {part} {key} {mine:.4f} vs best baseline {best} "
                         f"{theirs:.4f}: {margin:+.4f} {'✔' if margin > 0 else '✘'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--yes", action="store_true", help="Agree that the configured database is emptied.")
    parser.add_argument("--datasets", default="plain,skew,lastfm")
    parser.add_argument("--split-seeds", default="0,1,2")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--model-seeds", default="0",
                        help="Offsets o: every split seed S trains model seeds S+o; its figures are their mean.")
    parser.add_argument("--tracks", type=int, default=400)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--interactions", type=int, default=35)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not args.yes:
        parser.error("this empties the configured Neo4j database: pass --yes")
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "bench.log"
    splits = [int(s) for s in args.split_seeds.split(",")]
    offsets = [int(o) for o in args.model_seeds.split(",")]
    load = os.getloadavg()
    print(f"machine: {machine()}; load average {load[0]:.1f} (shared machine: compare within one run)\n"
          f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    for dataset in args.datasets.split(","):
        paths = exports(args, dataset, splits, log)
        results: dict[str, dict[int, dict]] = {}
        for name in args.variants.split(","):
            if dataset == "lastfm" and name in MEDIA_ONLY:
                continue
            for s, export in paths.items():
                runs = [train(export, run_folder(args.work, dataset, name, s, o), VARIANTS[name], s + o, args.threads)
                        for o in offsets]
                results.setdefault(name, {})[s] = mean_metrics(runs)
        counts = json.loads((paths[splits[0]] / "manifest.json").read_text())["counts"]
        seeds = "" if offsets == [0] else f", each the mean of model seeds S+{{{args.model_seeds}}}"
        report = [f"\n### {dataset}: split seeds {args.split_seeds}{seeds} (seed {splits[0]}: "
                  + ", ".join(f"{k} {v}" for k, v in counts["split"].items()) + ")", "",
                  "Validation (selection):", "", *table(results, "valid"), "", "Test:", "",
                  *table(results, "test"), ""]
        for model in ("mkgcn", "mkgcn-keepid", "mkgcn-balanced", "mkgcn-coldsel"):
            if model in results:
                report += checks(results, model)
        if "mkgcn" in results:
            report += ["", "The same on validation (selection data; not the goal, a reading of the test lines):", "",
                       *checks(results, "mkgcn", "valid")]
        text = "\n".join(report)
        print(text, flush=True)
        (args.work / f"{dataset}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
