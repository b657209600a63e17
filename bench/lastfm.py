"""Last.FM end to end: ingest (KGCN files) → export per split seed → train models × model seeds.

    .venv/bin/python bench/lastfm.py --work /tmp/lastfm                        # everything
    .venv/bin/python bench/lastfm.py --work /tmp/lastfm --skip-ingest --models mkgcn,lightgcn \\
        --split-seeds 0,1,2 --seeds 0,1,2 --protocols topk-801010

Ingest and export go through the ``mmkg`` CLI (configured Neo4j: ``MMKG_*`` settings); an export
folder already in ``--work`` is reused. Each (protocol, split seed, model, model seed) trains with
``mmkg train`` into ``WORK/runs/<protocol>/s<split>/<model>/seed<N>`` (an existing
``metrics.json`` is reused). Selection is on validation only (``PROTOCOLS``); test is read once
per run. Prints, per model: the mean over model seeds for each split, then **mean ± std over
split seeds**, and the **paired per-split difference** against ``--reference`` (LightGCN).
Hyperparameters per model are in :data:`SETTINGS` (chosen on validation of split seed 0).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "lastfm-kgcn"
PROTOCOLS = {"kgcn-ctr": "auc", "topk-801010": "recall@20"}
"""Split protocol → validation metric used for model selection."""
METRICS = {"kgcn-ctr": ("auc", "f1", "recall@20", "ndcg@20"), "topk-801010": ("recall@20", "ndcg@20", "auc")}
SETTINGS: dict[str, list[str]] = {
    "mkgcn": [],
    "mkgcn-keepid": ["--set", "model.id_dropout=0"],
    "mkgcn-valid-all": ["--set", "valid_users=0"],
    "mkgcn-valid500": ["--set", "valid_users=500"],
    "mkgcn-tuned": ["--set", "lr=0.00091", "--set", "l2=0.00449", "--set", "model.dim=64", "--set", "model.layers=3", "--set", "model.kg.hops=1",
                    "--set", "batch_size=512", "--set", "temperature=0.314", "--set", "neg_ratio=256", "--set", "epochs=50"],
    "mkgcn-nokg": ["--model", "mkgcn", "--set", "model.kg.hops=0"],
    "mkgcn-shrink": ["--model", "mkgcn", "--set", "model.kg.hop_mean_if_empty=false"],
    "mkgcn-balanced": ["--model", "mkgcn", "--set", "model.new_track_balance=0.5"],
    "mkgcn-nogate": ["--model", "mkgcn", "--set", "model.kg.gate=0", "--set", "model.kg.hop_mean_if_empty=false"],
    "lightgcn-softmax-tuned": ["--model", "lightgcn", "--set", "lr=0.00091", "--set", "l2=0.00449", "--set", "model.dim=64",
                               "--set", "model.layers=3", "--set", "batch_size=512", "--set", "temperature=0.314",
                               "--set", "neg_ratio=256", "--set", "epochs=50"],
    "lightgcn-softmax": ["--model", "lightgcn"],
    "mkgcn-heardneg": ["--set", "neg_unheard=false"],
    "lightgcn-softmax-heardneg": ["--model", "lightgcn", "--set", "neg_unheard=false"],
    "mkgcn-paper": ["--model", "mkgcn-paper", "--set", "model.dim=32", "--set", "lr=0.002", "--set", "epochs=30", "--set", "patience=3"],
    "kgcn": ["--model", "kgcn", "--set", "lr=0.002", "--set", "epochs=20", "--set", "patience=3"],
    "pop": ["--model", "pop"],
    "bpr": ["--model", "bpr", "--set", "loss=bpr", "--set", "negatives=ratio", "--set", "neg_ratio=1", "--set", "temperature=1",
            "--set", "batch_size=128", "--set", "lr=0.005", "--set", "epochs=40", "--set", "patience=3"],
    "lightgcn": ["--model", "lightgcn", "--set", "loss=bpr", "--set", "negatives=ratio", "--set", "neg_ratio=1",
                 "--set", "temperature=1", "--set", "batch_size=128", "--set", "lr=0.005", "--set", "epochs=40", "--set", "patience=3"],
}
"""Run name → ``mmkg train`` flags. ``mkgcn`` is ``mmkg train`` with no flags (the defaults);
``mkgcn-tuned`` is the validation-best trial of ``mmkg tune --model mkgcn`` on split seed 0;
``lightgcn`` and ``bpr`` are the papers' models (BPR loss, one negative per positive);
``-nokg`` / ``-shrink`` / ``-nogate`` / ``-softmax`` are the ablations of the default MKGCN (same
objective and settings; ``-shrink``: an item without ID and media keeps the gated mix with its
empty layer 0 instead of its KG hop mean, the defaults before ``kg.hop_mean_if_empty``;
``-nogate``: that and KG degree gate 0, the defaults before the gate; ``-balanced``: the new-track
term balanced by popularity, α = 0.5, as in ``bench/cold_start.py``);
``lightgcn-softmax-tuned`` is LightGCN with MKGCN's objective and ``mkgcn-tuned``'s shared
settings; ``mkgcn-keepid`` is the default without ID dropout (p = 0, the default before the cold-start
work); ``mkgcn-valid-all`` / ``mkgcn-valid500`` select on validation top-K over all users / a
seeded sample of 500 of them (``--set valid_users=500``; the default, 5,000, covers Last.FM's 1,872)."""
MMKG = [str(Path(sys.executable).with_name("mmkg"))]


def run(args: list[str], log: Path) -> None:
    with log.open("a") as handle:
        handle.write("$ mmkg " + shlex.join(args) + "\n")
        handle.flush()
        subprocess.run(MMKG + args, check=True, stdout=handle, stderr=subprocess.STDOUT, env=os.environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--models", default="mkgcn,lightgcn,bpr,pop")
    parser.add_argument("--seeds", default="0,1,2", help="model seeds")
    parser.add_argument("--split-seeds", default="0,1,2")
    parser.add_argument("--protocols", default=",".join(PROTOCOLS))
    parser.add_argument("--reference", default="lightgcn", help="paired differences against this model")
    parser.add_argument("--threads", default="1")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"command: {shlex.join([sys.executable, *sys.argv])}", flush=True)
    if not args.skip_ingest:
        run(["ingest", str(DATASET), "--format", "kgcn"], log)
    seeds = [int(s) for s in args.seeds.split(",")]
    splits = [int(s) for s in args.split_seeds.split(",")]
    models = args.models.split(",")
    for protocol in args.protocols.split(","):
        results: dict[str, dict[int, list[dict]]] = {m: {} for m in models}
        for split in splits:
            export = work / f"export-{protocol}-s{split}"
            if not (export / "manifest.json").exists():
                run(["export", str(export), "--split", protocol, "--split-seed", str(split)], log)
            for model in models:
                for seed in seeds:
                    out = work / "runs" / protocol / f"s{split}" / model / f"seed{seed}"
                    if not (out / "metrics.json").exists():
                        run(["train", "--out", str(out), "--export", str(export), "--seed", str(seed),
                             "--set", f"monitor={PROTOCOLS[protocol]}", "--threads", args.threads, "--quiet",
                             *SETTINGS[model]], log)
                    results[model].setdefault(split, []).append(json.loads((out / "metrics.json").read_text()))
        report(protocol, results, args.reference)


def report(protocol: str, results: dict[str, dict[int, list[dict]]], reference: str) -> None:
    """Mean ± std over split seeds of the per-split mean over model seeds, and the paired
    per-split difference against ``reference``."""
    keys = METRICS[protocol]
    print(f"\n### {protocol}: test metrics, mean ± std over split seeds "
          f"(each split: mean of its model seeds); Δ = paired per-split difference vs {reference}")
    print("| model | " + " | ".join(f"test {k}" for k in keys)
          + f" | Δ {keys[0]} vs {reference} | s/epoch | peak RSS MB | runs |")
    print("|---|" + "---:|" * (len(keys) + 4))
    ref = results.get(reference, {})
    for model, by_split in results.items():
        per_split = {s: {k: np.mean([r["test"].get(k, np.nan) for r in rs]) for k in keys}
                     for s, rs in by_split.items()}
        cells = []
        for k in keys:
            v = np.array([per_split[s][k] for s in sorted(per_split)])
            cells.append(f"{v.mean():.4f} ± {v.std():.4f}")
        common = sorted(set(by_split) & set(ref))
        if common and model != reference:
            diffs = [per_split[s][keys[0]] - np.mean([r["test"][keys[0]] for r in ref[s]]) for s in common]
            delta = ", ".join(f"{d:+.4f}" for d in diffs) + f" (mean {np.mean(diffs):+.4f})"
        else:
            delta = "–"
        runs = [r for rs in by_split.values() for r in rs]
        spe = np.mean([r["seconds_per_epoch"] for r in runs])
        rss = max(r["peak_rss_mb"] for r in runs)
        print(f"| {model} | " + " | ".join(cells) + f" | {delta} | {spe:.2f} | {rss:.0f} | "
              f"{len(by_split)}×{len(runs) // max(len(by_split), 1)} |", flush=True)


if __name__ == "__main__":
    main()
