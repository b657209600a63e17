"""Is a split's new-track margin more than the noise of its test sample? A paired bootstrap over users.

    .venv/bin/python -m bench.cold_significance --work /tmp/cold --datasets skew --model-seeds 0,10,20
    .venv/bin/python -m bench.cold_significance --work /tmp/cold-big --datasets skew --model-seeds 0,10,20

Reads a :mod:`bench.cold_start` work folder (its exports and run folders: nothing is trained and
no database is used). For each dataset and split seed S, every user with a test cold listen is
ranked again by ``--model`` (each user's figure the mean over model seeds S+o of ``--model-seeds``)
and by the baseline with the best test cold Recall@20 on that split, over the same candidates as
the bench (the cold tracks minus what the user is known to have). The margin's 95 % interval
comes from resampling those users with replacement (10,000 draws, seed 0), for cold Recall@20 and
NDCG@20: an interval across 0 means the split's test sample cannot tell the two apart.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from bench.cold_start import BASELINES, run_folder
from mmkg.train import metrics
from mmkg.train.evaluate import load_run
from mmkg.train.ranking import ranked

K = 20
"""The cut-off of the compared metrics."""
DRAWS = 10_000
"""Bootstrap resamples of the users."""
METRICS = {"cold_recall@20": metrics.recall_at, "cold_ndcg@20": metrics.ndcg_at}


def per_user(run: Path, export: Path) -> dict[str, np.ndarray]:
    """Each ranked user's test cold Recall@20 and NDCG@20 for the model of ``run`` (users in index order)."""
    model, data = load_run(run, export)
    model.eval()
    split = data.split
    exclude = np.concatenate([split["train"], split["valid"], split["valid_cold"]])
    _, hits, n_truth = ranked(model, split["test_cold"], exclude, data.n_users, K, ~data.warm_items)
    hits = hits.astype(np.float64)
    return {key: np.array([fn(hits[u:u + 1], n_truth[u:u + 1], K) for u in range(len(hits))])
            for key, fn in METRICS.items()}


def interval(margins: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """95 % percentile interval of the mean of ``margins`` over users resampled with replacement."""
    means = margins[rng.integers(0, len(margins), (DRAWS, len(margins)))].mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--datasets", default="plain,skew,lastfm")
    parser.add_argument("--split-seeds", default="0,1,2")
    parser.add_argument("--model", default="mkgcn")
    parser.add_argument("--model-seeds", default="0", help="Offsets o of the runs to average, as bench.cold_start.")
    args = parser.parse_args()
    torch.set_num_threads(1)
    offsets = [int(o) for o in args.model_seeds.split(",")]
    for dataset in args.datasets.split(","):
        for s in (int(x) for x in args.split_seeds.split(",")):
            export = args.work / dataset / f"export-s{s}"
            baselines = {b: json.loads((run_folder(args.work, dataset, b, s, 0) / "metrics.json").read_text())
                         for b in BASELINES if (run_folder(args.work, dataset, b, s, 0) / "metrics.json").exists()}
            best = max(baselines, key=lambda b: baselines[b]["test"]["cold_recall@20"])
            theirs = per_user(run_folder(args.work, dataset, best, s, 0), export)
            mine = [per_user(run_folder(args.work, dataset, args.model, s, o), export) for o in offsets]
            rng = np.random.default_rng(0)
            for key in METRICS:
                a = np.mean([m[key] for m in mine], 0)
                lo, hi = interval(a - theirs[key], rng)
                verdict = "ahead" if lo > 0 else "behind" if hi < 0 else "not separable"
                print(f"{dataset} split {s}, {len(a)} users: {args.model} test {key} {a.mean():.4f} vs {best} "
                      f"{theirs[key].mean():.4f}: {a.mean() - theirs[key].mean():+.4f}, 95 % CI [{lo:+.4f}, {hi:+.4f}] "
                      f"({verdict})", flush=True)


if __name__ == "__main__":
    main()
