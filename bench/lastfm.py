"""Last.FM end to end: ingest (KGCN files) → export (kgcn-ctr, topk-801010) → train models × seeds.

    .venv/bin/python bench/lastfm.py --work /tmp/lastfm                 # everything
    .venv/bin/python bench/lastfm.py --work /tmp/lastfm --skip-ingest   # reuse the graph
    .venv/bin/python bench/lastfm.py --work /tmp/lastfm --models mkgcn,kgcn --seeds 0,1,2

Ingest and export go through the ``mmkg`` CLI (configured Neo4j: ``MMKG_*`` settings); an export
folder already in ``--work`` is reused. Each (protocol, model, seed) trains with ``mmkg train``
into ``WORK/runs/<protocol>/<model>/seed<N>`` (an existing ``metrics.json`` is reused). Prints
mean ± std of test AUC/F1 (kgcn-ctr) and Recall/NDCG@20 (topk-801010), seconds/epoch, peak RSS,
next to the published anchors. Hyperparameters per model are in :data:`SETTINGS`; they were
chosen on validation only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "lastfm-kgcn"
PROTOCOLS = {"kgcn-ctr": "auc", "topk-801010": "recall@20"}
"""Split protocol → validation metric used for model selection."""
SETTINGS: dict[str, list[str]] = {
    "mkgcn": ["--dim", "32", "--lr", "0.002", "--epochs", "30", "--patience", "3"],
    "kgcn": ["--lr", "0.002", "--epochs", "20", "--patience", "3"],
    "pop": [],
    "bpr": ["--dim", "64", "--lr", "0.005", "--l2", "0.0001", "--epochs", "40", "--patience", "3"],
    "lightgcn": ["--dim", "64", "--lr", "0.005", "--l2", "0.0001", "--epochs", "40", "--patience", "3"],
}
ANCHORS = {
    ("kgcn-ctr", "kgcn"): "paper AUC 0.796 / F1 0.721",
    ("kgcn-ctr", "mkgcn"): "goal AUC ≥ 0.84",
    ("topk-801010", "lightgcn"): "RecBole R@20 0.3246 / N@20 0.1537",
    ("topk-801010", "bpr"): "RecBole R@20 0.3166 / N@20 0.1532",
    ("topk-801010", "kgcn"): "RecBole R@20 0.2633 / N@20 0.1118",
    ("topk-801010", "pop"): "RecBole R@20 0.1612 / N@20 0.0519",
    ("topk-801010", "mkgcn"): "goal R@20 ≥ 0.33",
}
MMKG = [str(Path(sys.executable).with_name("mmkg"))]


def run(args: list[str], log: Path) -> None:
    with log.open("a") as handle:
        subprocess.run(MMKG + args, check=True, stdout=handle, stderr=subprocess.STDOUT, env=os.environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--models", default=",".join(SETTINGS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--protocols", default=",".join(PROTOCOLS))
    parser.add_argument("--threads", default="1")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    if not args.skip_ingest:
        run(["ingest", str(DATASET), "--format", "kgcn"], log)
    seeds = [int(s) for s in args.seeds.split(",")]
    for protocol in args.protocols.split(","):
        export = work / f"export-{protocol}"
        if not (export / "manifest.json").exists():
            run(["export", str(export), "--split", protocol, "--seed", "0"], log)
        for model in args.models.split(","):
            results = []
            for seed in seeds:
                out = work / "runs" / protocol / model / f"seed{seed}"
                if not (out / "metrics.json").exists():
                    run(["train", "--out", str(out), "--export", str(export), "--seed", str(seed),
                         "--model", model, "--monitor", PROTOCOLS[protocol], "--threads", args.threads,
                         "--quiet", *(["--no-valid-topk"] if PROTOCOLS[protocol] == "auc" else []),
                         *SETTINGS[model]], log)
                results.append(json.loads((out / "metrics.json").read_text()))
            report(protocol, model, results)


def report(protocol: str, model: str, results: list[dict]) -> None:
    def stat(key: str) -> str:
        values = np.array([r["test"][key] for r in results])
        return f"{key} {values.mean():.4f} ± {values.std():.4f}"

    keys = ("auc", "f1") if protocol == "kgcn-ctr" else ("recall@20", "ndcg@20")
    spe = np.mean([r["seconds_per_epoch"] for r in results])
    rss = max(r["peak_rss_mb"] for r in results)
    print(f"{protocol:12s} {model:9s} " + "  ".join(stat(k) for k in keys)
          + f"  | {spe:.1f} s/epoch, peak RSS {rss:.0f} MB, n={len(results)}"
          + f"  [{ANCHORS.get((protocol, model), '')}]", flush=True)


if __name__ == "__main__":
    main()
