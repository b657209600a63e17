"""Training throughput on an export folder: seconds per epoch, positives/s, score-all time, RSS.

    .venv/bin/python bench/train.py EXPORT_DIR [--model mkgcn-paper] [--set model.dim=64 --set batch_size=1024] \
        [--epochs 2] [--threads 1] [--score-users N]

Any config key can be set with ``--set key=value`` as in ``mmkg train`` (dotted keys, TOML values). Prints the machine, one line per measured epoch and a summary. No files are written.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np
import torch

from mmkg.export import ExportedGraph
from mmkg.train.allocator import keep_freed_memory
from mmkg.train.config import TrainConfig, parse_set
from mmkg.train.data import TrainData
from mmkg.train.fit import make_sampler, train_one_epoch
from mmkg.train.model import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export")
    parser.add_argument("--model", default=None)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--score-users", type=int, default=None,
                        help="time score-all for only the first N users (default: all)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    overrides = dict(parse_set(item) for item in args.set)
    config = TrainConfig.load(overrides={**({"model.name": args.model} if args.model else {}), **overrides})
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {args.threads}; "
          f"config: {config.model.name} d={config.model.dim} loss={config.loss} negatives={config.negatives}"
          f"x{config.neg_ratio} batch={config.batch_size}")
    t0 = time.perf_counter()
    data = TrainData.from_export(ExportedGraph.load(args.export))
    print(f"loaded {args.export}: {data.n_users} users, {data.n_items} tracks, {data.n_entities} entities, "
          f"{len(data.train)} training pairs, {len(data.modalities)} modalities in {time.perf_counter() - t0:.1f}s")
    torch.manual_seed(0)
    model = build_model(config.model, data, np.random.default_rng(0))
    sampler = make_sampler(data, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr) if model.trainable else None
    pairs = len(data.train)
    times = []
    with keep_freed_memory(config.keep_freed_memory) as kept:                # as `mmkg train` does
        for epoch in range(1, args.epochs + 1 if optimizer else 1):
            t0 = time.perf_counter()
            loss = train_one_epoch(model, optimizer, data, sampler, config, epoch)
            times.append(time.perf_counter() - t0)
            print(f"epoch {epoch}: loss {loss:.4f}  {times[-1]:.2f} s  {pairs / times[-1]:,.0f} positives/s  "
                  f"(keep_freed_memory {kept}, load {os.getloadavg()[0]:.1f})", flush=True)
    epochs_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model.eval()
    scored = min(args.score_users or data.n_users, data.n_users)
    t0 = time.perf_counter()
    with torch.no_grad():
        for start in range(0, scored, config.users_per_chunk):
            model.score_all(torch.arange(start, min(start + config.users_per_chunk, scored)))
    score_all = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mean = f"{np.mean(times):.2f} s/epoch, {pairs / np.mean(times):,.0f} positives/s, " if times else ""
    print(f"{config.model.name} d={config.model.dim} threads={args.threads}: {mean}"
          f"score-all {scored}x{data.n_items} in {score_all:.1f} s "
          f"({scored * data.n_items / score_all:,.0f} scores/s), peak RSS {epochs_rss:.0f} MB after the epochs, "
          f"{rss:.0f} MB in all")


if __name__ == "__main__":
    main()
