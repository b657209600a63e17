"""Data-parallel training measured: ``mmkg train --workers W`` at one effective batch.

For each W of ``--workers`` (default 1 and 2), trains the export for ``--epochs`` epochs with a
per-worker batch of ``--batch / W`` positives (the same effective batch, hence the same number of
steps per epoch), each worker on ``cores / W`` torch threads (``mmkg train``'s own split), with
validation top-K every epoch; prints seconds per epoch, the validation Recall@20 of every
epoch and the test Recall@20 of the selected epoch, with the machine, load and the command.
The W runs are interleaved ``--rounds`` times so that the load of a shared machine falls on
all alike::

    .venv/bin/python -m bench.workers --export EXPORT --batch 14224 --epochs 3 --work /tmp/workers
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MMKG = [sys.executable, "-m", "mmkg"]


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def train(export: Path, out: Path, workers: int, batch: int, epochs: int, seed: int) -> dict:
    """One ``mmkg train`` run; its metrics plus the command's wall seconds."""
    args = ["train", "--export", str(export), "--out", str(out), "--workers", str(workers), "--seed", str(seed),
            "--set", f"batch_size={batch // workers}", "--set", f"epochs={epochs}", "--set", f"patience={epochs}",
            "--quiet"]
    started = time.perf_counter()
    subprocess.run(MMKG + args, check=True, stdout=subprocess.DEVNULL)
    metrics = json.loads((out / "metrics.json").read_text())
    return {**metrics, "wall": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="folder for the runs (replaced)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, required=True, help="effective batch (all workers)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"command: {shlex.join([sys.executable, '-m', 'bench.workers', *sys.argv[1:]])}\n"
          f"machine: {os.cpu_count()} CPUs (nproc), {load()} at start", flush=True)
    runs: dict[int, list[dict]] = {w: [] for w in args.workers}
    for r in range(args.rounds):
        for w in args.workers:
            m = train(args.export, args.work / f"w{w}-r{r}", w, args.batch, args.epochs, args.seed)
            runs[w].append(m)
            curve = " ".join(f"{h['valid_recall@20']:.4f}" for h in m["history"])
            print(f"  workers {w} round {r}: {m['seconds_per_epoch']:.1f} s/epoch, command {m['wall']:.1f} s, "
                  f"valid R@20 by epoch {curve}, test R@20 {m['test']['recall@20']:.4f} ({load()})", flush=True)
    print(f"\n| workers | threads each | batch per worker | s/epoch (mean of {args.rounds}) | valid Recall@20 by epoch | "
          "test Recall@20 (selected epoch) |\n|---|---|---|---|---|---|")
    for w, ms in runs.items():
        curve = " / ".join(f"{np.mean([m['history'][e]['valid_recall@20'] for m in ms]):.4f}"
                           for e in range(len(ms[0]["history"])))
        print(f"| {w} | {max(1, (os.cpu_count() or 1) // w)} | {args.batch // w:,} | "
              f"{np.mean([m['seconds_per_epoch'] for m in ms]):.1f} | {curve} | "
              f"{np.mean([m['test']['recall@20'] for m in ms]):.4f} |")


if __name__ == "__main__":
    main()
