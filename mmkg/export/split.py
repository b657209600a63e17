"""Leakage-free train/valid/test splits of user→track interactions (pure numpy, seeded).

Interactions are first put in a canonical order (user index, then track index), so a split depends
only on the interaction *set*, the protocol and the seed — never on the order Neo4j streamed rows.
Only ``train`` positives become ``LISTENED`` edges of the exported graph.

Protocols (``r_v``, ``r_t`` = normalised valid/test ratios; ``n`` = a user's interactions):

``ratio``
    Per user, shuffled; ``n_valid = ⌊n·r_v⌋``, ``n_test = ⌊n·r_t⌋``, train keeps the rest. Users
    with few interactions therefore keep them all in train (with 6:2:2: every user with ``n < 5``).
``time``
    Per user, ordered by ``ts`` (ties by track index); same counts as ``ratio``; the oldest go to
    train, then valid, the newest to test. Every interaction must have a ``ts``.
``kgcn-ctr`` (KGCN's CTR protocol)
    Per user, ``min(n, n_unseen)`` negatives drawn *without replacement* from the tracks the user
    never listened to; then *all* labelled rows (positives and negatives together, not per user)
    are shuffled and split ``⌊N·r_v⌋`` valid, ``⌊N·r_t⌋`` test, the rest train. Negatives land in
    ``train_neg``/``valid_neg``/``test_neg``.
``topk-801010``
    Per user, shuffled; ``k = max(1, ⌊0.1·n⌋)``; test gets ``min(k, max(0, n - 2))``, valid
    ``min(k, max(0, n - 2 - n_test))``, train the rest — so train keeps at least 2 whenever
    ``n ≥ 2``, and test is served before valid: n=10 → 8/1/1, n=25 → 21/2/2, n=4 → 2/1/1,
    n=3 → 2/0/1, n=2 → 2/0/0.

For ``ratio``, ``time`` and ``topk-801010`` every valid/test positive gets one CTR negative: a
uniform track the user never interacted with at all, distinct within the user while enough such
tracks exist (else drawn with replacement); ``valid_neg[i]`` belongs to the user of ``valid[i]``
(same order, same length, except users who interacted with every track: they get none, logged).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from mmkg.errors import ExportError

log = logging.getLogger(__name__)

_EPS = 1e-9  # so that ⌊5 · 0.2⌋ is 1 even when 0.2 is not exact


class SplitProtocol(StrEnum):
    RATIO = "ratio"
    TIME = "time"
    KGCN_CTR = "kgcn-ctr"
    TOPK_801010 = "topk-801010"


class SplitConfig(BaseModel):
    """How interactions are split; ``ratios`` are train:valid:test weights (``topk-801010``
    ignores them: it is always 80/10/10)."""

    model_config = ConfigDict(frozen=True)

    protocol: SplitProtocol = SplitProtocol.RATIO
    ratios: tuple[float, float, float] = (6.0, 2.0, 2.0)

    @field_validator("ratios")
    @classmethod
    def _positive(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(r < 0 for r in value) or value[0] <= 0:
            raise ValueError(f"ratios must be ≥ 0 with a positive train share, got {value}")
        return value

    @property
    def fractions(self) -> tuple[float, float, float]:
        """The ratios normalised to sum to 1 (80/10/10 for ``topk-801010``)."""
        ratios = (8.0, 1.0, 1.0) if self.protocol is SplitProtocol.TOPK_801010 else self.ratios
        total = sum(ratios)
        return (ratios[0] / total, ratios[1] / total, ratios[2] / total)

    def to_manifest(self) -> dict:
        return {"protocol": self.protocol.value, "ratios": list(self.fractions)}


@dataclass
class Split:
    """A split of interaction arrays ``(user, track)``.

    ``rows``: ``train``/``valid``/``test`` → indices into the interaction arrays (positives).
    ``negatives``: ``valid_neg``/``test_neg`` (and ``train_neg`` for ``kgcn-ctr``) → int64 ``[n, 2]``
    (user index, track index).
    """

    rows: dict[str, np.ndarray]
    negatives: dict[str, np.ndarray]

    def arrays(self, user: np.ndarray, track: np.ndarray) -> dict[str, np.ndarray]:
        """Every part as int64 ``[n, 2]`` (user index, track index): the ``split.npz`` content."""
        out = {name: np.stack([user[r], track[r]], axis=1).astype(np.int64)
               for name, r in self.rows.items()}
        out.update(self.negatives)
        return out


def split_interactions(
    user: np.ndarray, track: np.ndarray, ts: np.ndarray | None, n_tracks: int,
    config: SplitConfig, seed: int,
) -> Split:
    """Split the interactions ``(user[i], track[i])`` (distinct pairs; ``ts[i]`` epoch seconds or
    NaN) over ``n_tracks`` tracks according to ``config``, reproducibly for ``seed``."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((track, user))
    bounds = np.flatnonzero(np.diff(user[order])) + 1
    groups = np.split(order, bounds) if len(order) else []
    if config.protocol is SplitProtocol.KGCN_CTR:
        return _kgcn_ctr(groups, user, track, n_tracks, config.fractions, rng)
    if config.protocol is SplitProtocol.TIME:
        if ts is None or np.isnan(ts).any():
            missing = len(user) if ts is None else int(np.isnan(ts).sum())
            raise ExportError(f"the time split needs a ts on every LISTENED; {missing} have none")
    _, r_valid, r_test = config.fractions
    parts: dict[str, list[np.ndarray]] = {"train": [], "valid": [], "test": []}
    negatives: dict[str, list[np.ndarray]] = {"valid_neg": [], "test_neg": []}
    for rows in groups:
        n = len(rows)
        if config.protocol is SplitProtocol.TIME:
            rows = rows[np.lexsort((track[rows], ts[rows]))]
            n_valid, n_test = _floor(n * r_valid), _floor(n * r_test)
        elif config.protocol is SplitProtocol.TOPK_801010:
            rows = rows[rng.permutation(n)]
            n_valid, n_test = topk_801010_counts(n)
        else:
            rows = rows[rng.permutation(n)]
            n_valid, n_test = _floor(n * r_valid), _floor(n * r_test)
        n_train = n - n_valid - n_test
        parts["train"].append(rows[:n_train])
        parts["valid"].append(rows[n_train:n_train + n_valid])
        parts["test"].append(rows[n_train + n_valid:])
        if n_valid + n_test:
            u = user[rows[0]]
            seen = np.unique(track[rows])
            drawn = sample_unseen(rng, seen, n_tracks, n_valid + n_test,
                                  replace=n_tracks - len(seen) < n_valid + n_test)
            if len(drawn) == 0:
                log.warning("user index %d interacted with every track: no CTR negatives", u)
                continue
            negatives["valid_neg"].append(_pairs(u, drawn[:n_valid]))
            negatives["test_neg"].append(_pairs(u, drawn[n_valid:]))
    return Split(rows={k: _cat(v) for k, v in parts.items()},
                 negatives={k: _cat_pairs(v) for k, v in negatives.items()})


def topk_801010_counts(n: int) -> tuple[int, int]:
    """``(n_valid, n_test)`` of a user with ``n`` interactions under ``topk-801010``."""
    k = max(1, _floor(0.1 * n))
    n_test = min(k, max(0, n - 2))
    n_valid = min(k, max(0, n - 2 - n_test))
    return n_valid, n_test


def sample_unseen(rng: np.random.Generator, seen: np.ndarray, n_items: int, k: int, *,
                  replace: bool = False) -> np.ndarray:
    """Draw ``k`` uniform items of ``range(n_items)`` not in ``seen`` (sorted, distinct).

    Without ``replace`` the draws are distinct and at most ``n_items - len(seen)`` are returned.
    Sparse users use rejection sampling; dense ones draw from the explicit complement.
    """
    n_free = n_items - len(seen)
    if not replace:
        k = min(k, n_free)
    if k <= 0 or n_free <= 0:
        return np.empty(0, dtype=np.int64)
    if 2 * len(seen) >= n_items:
        free = np.setdiff1d(np.arange(n_items, dtype=np.int64), seen, assume_unique=True)
        return rng.choice(free, size=k, replace=replace)
    pool = np.empty(0, dtype=np.int64)
    while len(pool) < k:
        candidates = rng.integers(0, n_items, size=2 * (k - len(pool)) + 8, dtype=np.int64)
        pool = np.concatenate([pool, candidates[~_member(candidates, seen)]])
        if not replace:
            _, first = np.unique(pool, return_index=True)
            pool = pool[np.sort(first)]
    return pool[:k]


def _kgcn_ctr(groups: list[np.ndarray], user: np.ndarray, track: np.ndarray, n_tracks: int,
              fractions: tuple[float, float, float], rng: np.random.Generator) -> Split:
    neg_pairs = []
    for rows in groups:
        seen = np.unique(track[rows])
        drawn = sample_unseen(rng, seen, n_tracks, len(rows))
        neg_pairs.append(_pairs(user[rows[0]], drawn))
    negatives = _cat_pairs(neg_pairs)
    n_pos = len(user)
    # Labelled row j < n_pos is positive interaction j; j ≥ n_pos is negative j - n_pos.
    n_rows = n_pos + len(negatives)
    perm = rng.permutation(n_rows)
    n_valid, n_test = _floor(n_rows * fractions[1]), _floor(n_rows * fractions[2])
    n_train = n_rows - n_valid - n_test
    chunks = {"train": perm[:n_train], "valid": perm[n_train:n_train + n_valid],
              "test": perm[n_train + n_valid:]}
    rows, negs = {}, {}
    for name, chunk in chunks.items():
        pos = chunk[chunk < n_pos]
        rows[name] = pos[np.lexsort((track[pos], user[pos]))]
        neg = negatives[chunk[chunk >= n_pos] - n_pos]
        negs[f"{name}_neg"] = neg[np.lexsort((neg[:, 1], neg[:, 0]))] if len(neg) else neg
    return Split(rows=rows, negatives=negs)


def _floor(x: float) -> int:
    return math.floor(x + _EPS)


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[pos] == values


def _pairs(u: int, items: np.ndarray) -> np.ndarray:
    return np.stack([np.full(len(items), u, dtype=np.int64), items.astype(np.int64)], axis=1)


def _cat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays).astype(np.int64) if arrays else np.empty(0, dtype=np.int64)


def _cat_pairs(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.empty((0, 2), dtype=np.int64)
