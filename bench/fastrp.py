"""Tune GDS FastRP for model ``fastrp`` on **validation** only: one export, a grid of FastRP knobs.

    .venv/bin/python bench/fastrp.py [--split topk-801010] [--seed 0] \
        [--grid '[{"dim": 256}, {"dim": 1024, "iteration_weights": [0, 0, 1, 0.5, 1]}]']

Exports the database once (the split of ``--seed``), then for each grid entry (fields of
:class:`mmkg.export.fastrp.FastRPConfig`; ``seed`` defaults to ``--seed``) computes FastRP in
Neo4j and prints validation Recall@20 / NDCG@20 of two scorings of the same vectors: ``knn``
(model ``fastrp``: mean cosine to the user's training tracks) and ``dot`` (FastRP's own user
vector · track vector). The test split is never evaluated. Needs a running server with GDS.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mmkg.config import load_settings
from mmkg.export import SplitConfig, export_heterograph
from mmkg.export.fastrp import FastRPConfig, add_fastrp
from mmkg.graph import connect
from mmkg.train.data import TrainData
from mmkg.train.evaluate import topk_metrics
from mmkg.train.model.base import VectorRecommender
from mmkg.train.model.fastrp import FastRP

DEFAULT_GRID = [
    {"dim": d, "iteration_weights": w} for d in (128, 256, 512, 1024)
    for w in ([0, 1, 1], [0, 0, 1], [0, 0, 1, 0, 1], [0, 0, 1, 0.5, 1])
]


class _Dot(VectorRecommender):
    """FastRP's own user and track vectors, scored by their dot product (for comparison only)."""

    def __init__(self, users: torch.Tensor, items: torch.Tensor) -> None:
        super().__init__()
        self.n_users, self.n_items = users.shape[0], items.shape[0]
        self.users, self.items = users, items

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.users, self.items


def _valid(model: VectorRecommender, data: TrainData) -> tuple[float, float]:
    m = topk_metrics(model.eval(), data.split["valid"], data.train, data.n_users, ks=(20,))
    return m["recall@20"], m["ndcg@20"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="topk-801010")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grid", type=json.loads, default=DEFAULT_GRID)
    args = parser.parse_args()

    torch.set_num_threads(1)
    settings = load_settings()
    driver = connect(settings)
    database = settings.neo4j.database
    with tempfile.TemporaryDirectory(prefix="mmkg-bench-fastrp-") as folder:
        exported = export_heterograph(driver, database, Path(folder) / "export",
                                      split=SplitConfig(protocol=args.split), seed=args.seed,
                                      progress=False)
        print(f"machine: {platform.processor() or platform.machine()}; split {args.split} seed {args.seed}; "
              f"{exported.num_users} users, {exported.num_tracks} tracks; validation only")
        for entry in args.grid:
            started = time.perf_counter()
            add_fastrp(exported, driver, database, FastRPConfig(**{"seed": args.seed, **entry}))
            data = TrainData.from_export(exported)
            users, items = data.fastrp
            knn = _valid(FastRP(items, data.n_users, data.train), data)
            dot = _valid(_Dot(users, items), data)
            print(f"{json.dumps(entry)}  knn R@20 {knn[0]:.4f} N@20 {knn[1]:.4f}  "
                  f"dot R@20 {dot[0]:.4f} N@20 {dot[1]:.4f}  ({time.perf_counter() - started:.1f}s)",
                  flush=True)
    driver.close()


if __name__ == "__main__":
    main()
