"""What scoring every user against every track costs in training, before and after issue 22 item 2.

Loads a finished run folder and its export (``mmkg train`` output) and times, in ONE process,
interleaved for ``--rounds`` rounds (so that the load of a shared machine falls on both alike):

- per epoch: validation top-K over every user (before) vs over ``--valid-users`` seeded users (``valid_users`` of the run config);
- end of training: validation, test and the published top-K as three scorings of all users
  (before: ``evaluate`` valid + ``evaluate`` test + the embeddings' top-K) vs the sampled
  validation and ONE scoring for test and the published top-K (``final_scoring``).

Prints seconds (median of the rounds) with the load average::

    .venv/bin/python bench/eval_cost.py --run /tmp/run --rounds 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from mmkg.train.config import TrainConfig
from mmkg.train.evaluate import evaluate, load_run, valid_sample
from mmkg.train.fit import final_scoring
from mmkg.train.run_folder import RunFolder


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--valid-users", type=int, default=TrainConfig().valid_users)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, data = load_run(args.run)
    chunk = TrainConfig(**RunFolder(args.run).load_config()).users_per_chunk
    sample = valid_sample(data, args.valid_users, seed=0)
    print(f"run {args.run}: {data.n_users:,} users x {data.n_items:,} tracks, "
          f"{len(sample) if sample is not None else data.n_users:,} validation users sampled; "
          f"{os.cpu_count()} CPUs, {args.threads} torch threads (shared machine)", flush=True)
    cases = {
        "epoch, before (all users)": lambda: evaluate(model, data, "valid", chunk),
        "epoch, after (sample)": lambda: evaluate(model, data, "valid", chunk, users=sample),
        "end, before (valid + test + top-K)": lambda: (
            evaluate(model, data, "valid", chunk), evaluate(model, data, "test", chunk),
            final_scoring(model, data, test=False, users_per_chunk=chunk)),
        "end, after (sample + one scoring)": lambda: (
            evaluate(model, data, "valid", chunk, users=sample),
            final_scoring(model, data, test=True, users_per_chunk=chunk)),
    }
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(args.rounds):
        for name, work in cases.items():
            seconds[name].append(timed(work))
            print(f"  round {round_ + 1} {name:36s} {seconds[name][-1]:7.1f} s  "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    for name, values in seconds.items():
        print(f"{name:36s} median {statistics.median(values):7.1f} s")


if __name__ == "__main__":
    main()
