"""The split protocols written the plain way, on every interaction in memory: the oracle that
``mmkg.export.split.SplitStream`` (chunked, on disk) must equal.

It shares only the per-user definitions with the module under test (the generator of a user,
the negative sampler, the topk counts); the grouping, the ordering and ``kgcn-ctr``'s global
ranking are done here with one sort over all rows.
"""

from __future__ import annotations

import math

import numpy as np

from mmkg.export.split import (SplitConfig, SplitProtocol, cold_tracks, sample_unseen,
                               topk_801010_counts, user_rng)


def oracle_split(user: np.ndarray, track: np.ndarray, ts: np.ndarray | None, n_tracks: int,
                 config: SplitConfig, seed: int) -> dict[str, np.ndarray]:
    """Every part as int64 ``[n, 2]``, users in index order (and ``cold-items``' cold tracks,
    int64 ``[|C|]``)."""
    out: dict[str, list] = {}
    labelled = []  # kgcn-ctr: (key, user, label, track)
    _, f_valid, f_test = config.fractions
    cold = (cold_tracks(seed, n_tracks, config.cold_fraction)
            if config.protocol is SplitProtocol.COLD_ITEMS else np.zeros(0, np.int64))
    for u in sorted(set(user.tolist())):
        mine = user == u
        order = np.argsort(track[mine])
        tracks = track[mine][order]
        rng = user_rng(seed, u)
        n = len(tracks)
        if config.protocol is SplitProtocol.KGCN_CTR:
            negatives = sorted(sample_unseen(rng, tracks, n_tracks, n).tolist())
            keys = rng.bit_generator.random_raw(n + len(negatives)).tolist()
            rows = [(u, 1, int(t)) for t in tracks] + [(u, 0, t) for t in negatives]
            labelled += [(k, *row) for k, row in zip(keys, rows)]
            continue
        seen = tracks
        if config.protocol is SplitProtocol.COLD_ITEMS:  # cold listens: half valid, half test
            is_cold = np.isin(tracks, cold)
            shuffled = tracks[is_cold][rng.permutation(int(is_cold.sum()))]
            out.setdefault("valid_cold", []).extend((u, t) for t in shuffled[:len(shuffled) // 2])
            out.setdefault("test_cold", []).extend((u, t) for t in shuffled[len(shuffled) // 2:])
            seen, tracks = np.union1d(tracks, cold), tracks[~is_cold]
            n = len(tracks)
        if config.protocol is SplitProtocol.TIME:
            tracks = tracks[np.argsort(ts[mine][order], kind="stable")]
        else:
            tracks = tracks[rng.permutation(n)]
        if config.protocol is SplitProtocol.TOPK_801010:
            n_valid, n_test = topk_801010_counts(n)
        else:
            n_valid, n_test = math.floor(n * f_valid + 1e-9), math.floor(n * f_test + 1e-9)
        n_train = n - n_valid - n_test
        out.setdefault("train", []).extend((u, t) for t in tracks[:n_train])
        out.setdefault("valid", []).extend((u, t) for t in tracks[n_train:n_train + n_valid])
        out.setdefault("test", []).extend((u, t) for t in tracks[n_train + n_valid:])
        if n_valid + n_test:
            drawn = sample_unseen(rng, np.sort(seen), n_tracks, n_valid + n_test,
                                  replace=n_tracks - len(seen) < n_valid + n_test).tolist()
            if drawn:
                out.setdefault("valid_neg", []).extend((u, t) for t in drawn[:n_valid])
                out.setdefault("test_neg", []).extend((u, t) for t in drawn[n_valid:])
    if config.protocol is SplitProtocol.KGCN_CTR:
        labelled.sort()
        n_valid = math.floor(len(labelled) * f_valid + 1e-9)
        n_test = math.floor(len(labelled) * f_test + 1e-9)
        parts = {"valid": labelled[:n_valid], "test": labelled[n_valid:n_valid + n_test],
                 "train": labelled[n_valid + n_test:]}
        for name, rows in parts.items():
            rows = sorted((u, label, t) for _, u, label, t in rows)
            out[name] = [(u, t) for u, label, t in rows if label == 1]
            out[f"{name}_neg"] = [(u, t) for u, label, t in rows if label == 0]
    parts = {name: np.asarray(rows, dtype=np.int64).reshape(-1, 2) for name, rows in out.items()}
    return {**parts, "cold_tracks": cold} if cold.size else parts
