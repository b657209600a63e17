"""Training throughput on an export folder: seconds per epoch, training pairs/s, score-all time.

    .venv/bin/python bench/train.py EXPORT_DIR [--model mkgcn] [--dim 16] [--hops 1] [--epochs 2]

Prints one line per measured epoch and a summary (peak RSS included). No files are written.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import torch

from mmkg.export import ExportedGraph
from mmkg.train.model import build_model
from mmkg.train.config import TrainConfig
from mmkg.train.data import TrainData
from mmkg.train.fit import train_one_epoch
from mmkg.train.sampling import NegativeSampler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export")
    parser.add_argument("--model", default="mkgcn")
    parser.add_argument("--dim", type=int, default=16)
    parser.add_argument("--hops", type=int, default=1)
    parser.add_argument("--neighbours", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--score-users", type=int, default=None,
                        help="time score-all for only the first N users (default: all)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    config = TrainConfig.load(model=args.model, dim=args.dim, hops=args.hops, neighbours=args.neighbours,
                              batch_size=args.batch_size, heads=1 if args.dim % 2 else 2)
    t0 = time.perf_counter()
    data = TrainData.from_export(ExportedGraph.load(args.export))
    print(f"loaded {args.export}: {data.n_users} users, {data.n_items} tracks, {data.n_entities} entities, "
          f"{len(data.train)} training pairs, {len(data.modalities)} modalities in {time.perf_counter() - t0:.1f}s")
    torch.manual_seed(0)
    model = build_model(config.model, data, np.random.default_rng(0))
    sampler = NegativeSampler(data.train, data.n_items, config.neg_ratio, config.neg_alpha)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr) if model.trainable else None
    pairs = len(data.train) * (1 + config.neg_ratio)
    times = []
    for epoch in range(1, args.epochs + 1 if optimizer else 1):
        t0 = time.perf_counter()
        loss = train_one_epoch(model, optimizer, data, sampler, config, epoch)
        times.append(time.perf_counter() - t0)
        print(f"epoch {epoch}: loss {loss:.4f}  {times[-1]:.2f} s  {pairs / times[-1]:,.0f} pairs/s")
    model.eval()
    scored = min(args.score_users or data.n_users, data.n_users)
    t0 = time.perf_counter()
    with torch.no_grad():
        for start in range(0, scored, 64):
            model.score_all(torch.arange(start, min(start + 64, scored)))
    score_all = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mean = f"{np.mean(times):.2f} s/epoch, {pairs / np.mean(times):,.0f} pairs/s, " if times else ""
    print(f"{args.model} d={args.dim} H={args.hops} K={args.neighbours} threads={args.threads}: {mean}"
          f"score-all {scored}x{data.n_items} in {score_all:.1f} s "
          f"({scored * data.n_items / score_all:,.0f} scores/s), peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
