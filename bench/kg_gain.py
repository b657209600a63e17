"""Where does the KG add ranking quality? Test Recall@20 of runs with the KG and of the same runs
without it, split by the tested track's KG neighbours and training popularity.

    .venv/bin/python -m bench.kg_gain --with /tmp/tune3/run-kg-s0 /tmp/tune3/run-kg-s1 \\
        --without /tmp/tune3/run-nokg-s0 /tmp/tune3/run-nokg-s1

Reads run folders of ``mmkg train`` (each with the export it recorded; nothing is trained and no
database is used). Every user with a test listen is ranked over all tracks but their training
and validation ones, as ``mmkg train``'s test does, 20 deep. Recall@20 = mean_u |top_20(u) ∩ T_u| /
|T_u| is a sum over test listens, each weighing 1 / (|T_u| · users), so it splits exactly into
groups of listens: a group's share is what its listens add to Recall@20. Listens are grouped by
their track's number of distinct KG neighbours (entities one kept KG edge away) and by the
track's training listens. Per group: its share of the test listens, its Recall@20 share with and
without the KG (mean over the run pairs), and the gain's share. The ``--with`` and ``--without``
runs pair up in order and must share their export.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from mmkg.train.data import TrainData
from mmkg.train.evaluate import load_run
from mmkg.train.ranking import ranked

K = 20
NEIGHBOUR_BINS = (1, 2, 5, 10)
"""Left edges of the KG-neighbour groups after the first (``0``, ``1``, ``2–4``, ``5–9``, ``≥ 10``)."""
POPULARITY_BINS = (1, 5, 20, 100)
"""Left edges of the training-listen groups after the first (``0``, ``1–4``, ``5–19``, ``20–99``, ``≥ 100``)."""


def kg_neighbours(data: TrainData) -> np.ndarray:
    """Distinct entities one KG edge (either direction, the self relation left out) from each track."""
    kg = data.kg[data.kg[:, 1] != data.self_relation]
    pairs = np.concatenate([kg[:, [0, 2]], kg[:, [2, 0]]])
    pairs = np.unique(pairs[pairs[:, 0] < data.n_items], axis=0)
    return np.bincount(pairs[:, 0], minlength=data.n_items)


def listen_weights(run: Path) -> tuple[TrainData, np.ndarray, np.ndarray]:
    """The run's data, and for each test listen ``(user, track)`` (in ``split["test"]`` order) its
    weight in Recall@20, ``1 / (|T_u| · users)``, when it is a hit and 0 otherwise."""
    model, data = load_run(run)
    model.eval()
    split = data.split
    test = split["test"]
    exclude = np.concatenate([split["train"], split["valid"]])
    top, _, n_truth = ranked(model, test, exclude, data.n_users, K)
    users = np.unique(test[:, 0])                                  # ranked() keeps users in index order
    row = np.searchsorted(users, test[:, 0])
    hit = (top[row] == test[:, 1:2]).any(1)
    return data, test, hit / (n_truth[row] * len(users))


def groups(values: np.ndarray, edges: tuple[int, ...]) -> tuple[np.ndarray, list[str]]:
    """Group index of each value and the groups' labels for left ``edges``."""
    bounds = [0, *edges]
    labels = [f"{lo}" if hi - lo == 1 else f"{lo}–{hi - 1}" for lo, hi in zip(bounds, bounds[1:])] + [f"≥ {edges[-1]}"]
    return np.searchsorted(np.asarray(edges), values, side="right"), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--with", dest="kg", nargs="+", type=Path, required=True, help="runs with the KG")
    parser.add_argument("--without", nargs="+", type=Path, required=True, help="the same runs without it")
    args = parser.parse_args()
    if len(args.kg) != len(args.without):
        parser.error(f"--with has {len(args.kg)} runs, --without {len(args.without)}: they pair up in order")
    torch.set_num_threads(1)
    tables: dict[str, list[np.ndarray]] = {"KG neighbours": [], "training listens": []}
    labels: dict[str, list[str]] = {}
    for kg_run, plain_run in zip(args.kg, args.without):
        data, test, with_kg = listen_weights(kg_run)
        _, test_again, without = listen_weights(plain_run)
        if not np.array_equal(test, test_again):
            parser.error(f"{kg_run} and {plain_run} were not trained on the same export")
        for name, values, edges in (("KG neighbours", kg_neighbours(data), NEIGHBOUR_BINS),
                                    ("training listens", data.popularity(), POPULARITY_BINS)):
            group, labels[name] = groups(values[test[:, 1]], edges)
            n = len(labels[name])
            tables[name].append(np.stack([np.bincount(group, minlength=n) / len(test),
                                          np.bincount(group, with_kg, n), np.bincount(group, without, n)], 1))
        print(f"{kg_run} vs {plain_run}: test Recall@20 {with_kg.sum():.4f} vs {without.sum():.4f} "
              f"({with_kg.sum() - without.sum():+.4f})", flush=True)
    for name, per_pair in tables.items():
        mean = np.mean(per_pair, 0)
        gain = mean[:, 1] - mean[:, 2]
        print(f"\nBy the tested track's {name} (mean over {len(per_pair)} run pairs):\n")
        print(f"| {name} | share of test listens | Recall@20 share, with KG | without | gain | share of the gain |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, (share, a, b), g in zip(labels[name], mean, gain):
            print(f"| {label} | {share:.3f} | {a:.4f} | {b:.4f} | {g:+.4f} | {g / gain.sum():.0%} |")
        print(f"| all | 1.000 | {mean[:, 1].sum():.4f} | {mean[:, 2].sum():.4f} | {gain.sum():+.4f} | 100% |")


if __name__ == "__main__":
    main()
