"""Leakage-free train/valid/test splits of user→track interactions, computed while they stream.

:class:`SplitStream` takes the interactions in chunks, each holding *every* interaction of its
users (``export_listens`` answers a chunk of user ids with all their listens), and appends the
split to ``.npy`` files as it goes (:mod:`mmkg.export.npy_append`), so memory is one chunk, never
the whole interaction set. Randomness is drawn per user from a generator seeded by
``(seed, user index)`` (:func:`user_rng`), on that user's interactions sorted by track index:
a split depends only on the interaction *set*, the protocol and the seed — never on the order
Neo4j streams rows or users, nor on the chunk size. Only ``train`` positives are training data.

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
    are split ``⌊N·r_v⌋`` valid, ``⌊N·r_t⌋`` test, the rest train, uniformly at random. Streamed:
    every labelled row gets a 64-bit random key from its user's generator; the rows are ranked by
    (key, user, label, track), the first ``⌊N·r_v⌋`` go to valid, the next ``⌊N·r_t⌋`` to test.
    The ranks are found in bounded memory by a histogram of the keys' top 16 bits over the rows
    kept on disk (:func:`_rank_bounds`). Negatives land in ``train_neg``/``valid_neg``/``test_neg``.
``topk-801010``
    Per user, shuffled; ``k = max(1, ⌊0.1·n⌋)``; test gets ``min(k, max(0, n - 2))``, valid
    ``min(k, max(0, n - 2 - n_test))``, train the rest — so train keeps at least 2 whenever
    ``n ≥ 2``, and test is served before valid: n=10 → 8/1/1, n=25 → 21/2/2, n=4 → 2/1/1,
    n=3 → 2/0/1, n=2 → 2/0/0.
``cold-items`` (new tracks)
    A seeded set of cold tracks ``C`` (:func:`cold_tracks`): ``|C| = ⌊f·N⌋`` of the ``N``
    exported tracks (``f`` = ``cold_fraction``, default 0.2), drawn uniformly without replacement
    by a generator seeded with ``(seed, COLD_STREAM)`` — the same seed and catalog give the same
    ``C``. No listen of a cold track is ever training data: per user, the ``n_c`` listens of cold
    tracks are shuffled, ``⌊n_c/2⌋`` go to ``valid_cold`` and the other ``⌈n_c/2⌉`` to
    ``test_cold``; the ``n - n_c`` warm listens are split as ``ratio`` does (``train``, ``valid``,
    ``test``). ``cold_tracks.npy`` (int64 ``[|C|]``, sorted) lists ``C``; cold tracks keep their KG
    facts and features in the export (content and KG are what must place them). The CTR
    negatives of ``valid``/``test`` are drawn among warm tracks only.

For ``ratio``, ``time``, ``topk-801010`` and ``cold-items`` every valid/test positive gets one CTR negative: a
uniform track the user never interacted with at all, distinct within the user while enough such
tracks exist (else drawn with replacement); ``valid_neg[i]`` belongs to the user of ``valid[i]``
(same order, same length, except users who interacted with every track: they get none, and
:attr:`SplitStream.saturated` lists them for the caller to name).

Every part is an int64 ``[n, 2]`` array of (user index, track index), grouped by user in the
order the chunks arrived (``mmkg export`` streams users in index order).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mmkg.errors import ExportError
from mmkg.export.npy_append import NpyAppender, read_blocks

_EPS = 1e-9  # so that ⌊5 · 0.2⌋ is 1 even when 0.2 is not exact


class SplitProtocol(StrEnum):
    RATIO = "ratio"
    TIME = "time"
    KGCN_CTR = "kgcn-ctr"
    TOPK_801010 = "topk-801010"
    COLD_ITEMS = "cold-items"


class SplitConfig(BaseModel):
    """How interactions are split; ``ratios`` are train:valid:test weights (``topk-801010``
    ignores them: it is always 80/10/10; ``cold-items`` applies them to the warm listens)."""

    model_config = ConfigDict(frozen=True)

    protocol: SplitProtocol = SplitProtocol.RATIO
    ratios: tuple[float, float, float] = (6.0, 2.0, 2.0)
    cold_fraction: float = Field(0.2, gt=0, lt=1)
    """``cold-items``: the share ``f`` of the tracks held out entirely (:func:`cold_tracks`)."""

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
        out = {"protocol": self.protocol.value, "ratios": list(self.fractions)}
        if self.protocol is SplitProtocol.COLD_ITEMS:
            out["cold_fraction"] = self.cold_fraction
        return out


PARTS = ("train", "valid", "test")
"""The positive parts of every protocol."""
COLD_PARTS = ("valid_cold", "test_cold")
"""``cold-items``: the held-out listens of cold tracks (never training data)."""
COLD_TRACKS = "cold_tracks"
"""``cold-items``: the file (``cold_tracks.npy``, int64 ``[|C|]``) listing the cold tracks."""
COLD_STREAM = 2 ** 63 - 1
"""The second seed word of the cold-track draw (user generators use user indices there)."""


def part_names(protocol: SplitProtocol) -> tuple[str, ...]:
    """The pair arrays a protocol writes: the positives, then the CTR negatives (then, for
    ``cold-items``, the cold listens)."""
    if protocol is SplitProtocol.KGCN_CTR:
        return (*PARTS, "train_neg", "valid_neg", "test_neg")
    if protocol is SplitProtocol.COLD_ITEMS:
        return (*PARTS, "valid_neg", "test_neg", *COLD_PARTS)
    return (*PARTS, "valid_neg", "test_neg")


def user_rng(seed: int, user: int) -> np.random.Generator:
    """The generator of user index ``user``'s random choices under ``seed`` (both ≥ 0)."""
    return np.random.default_rng((seed, user))


def cold_tracks(seed: int, n_tracks: int, fraction: float) -> np.ndarray:
    """The cold tracks of ``cold-items``: ``⌊fraction·n_tracks⌋`` track indices drawn uniformly
    without replacement by ``default_rng((seed, COLD_STREAM))``, sorted (int64)."""
    rng = np.random.default_rng((seed, COLD_STREAM))
    return np.sort(rng.choice(n_tracks, _floor(fraction * n_tracks), replace=False)).astype(np.int64)


class SplitStream:
    """Split interactions that arrive in chunks of whole users, appending every part to
    ``folder/<part>.npy`` (:func:`part_names`).

    Args:
        folder: where the part files go (created); ``kgcn-ctr`` also keeps its labelled rows in
            ``folder/_ctr`` until :meth:`close`, which removes them.
        config: the protocol and ratios.
        seed: the split's seed (≥ 0).
        n_users: users in the index space (user indices are ``0..n_users-1``).
        n_tracks: tracks in the index space (negatives are drawn from ``0..n_tracks-1``).

    Use: :meth:`add` each chunk, then :meth:`close`, which returns the part sizes.
    """

    def __init__(self, folder: Path, config: SplitConfig, seed: int, n_users: int, n_tracks: int) -> None:
        if seed < 0:
            raise ExportError(f"the split seed must be ≥ 0, got {seed}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.seed = seed
        self.n_tracks = n_tracks
        self._done = np.zeros(n_users, dtype=bool)
        self.saturated: list[int] = []
        """User indexes that interacted with every track, so got no CTR negatives."""
        self._parts = {name: NpyAppender(self.folder / f"{name}.npy", np.int64, (2,))
                       for name in part_names(config.protocol)}
        self._ctr: dict[str, NpyAppender] = {}
        self._cold = np.empty(0, dtype=np.int64)
        if config.protocol is SplitProtocol.COLD_ITEMS:
            self._cold = cold_tracks(seed, n_tracks, config.cold_fraction)
            np.save(self.folder / f"{COLD_TRACKS}.npy", self._cold)
        if config.protocol is SplitProtocol.KGCN_CTR:
            (self.folder / _CTR).mkdir(exist_ok=True)
            self._ctr = {name: NpyAppender(self.folder / _CTR / f"{name}.npy", dtype)
                         for name, dtype in _CTR_COLUMNS.items()}

    def add(self, user: np.ndarray, track: np.ndarray, ts: np.ndarray | None = None) -> None:
        """Split one chunk: distinct ``(user[i], track[i])`` pairs holding every interaction of
        each user in it (``ts[i]``: epoch seconds or NaN; needed by ``time`` only).

        Raises:
            ExportError: ``time`` and an interaction without ``ts``.
            ValueError: a user already seen in an earlier chunk.
        """
        order = np.lexsort((track, user))
        user, track = user[order], track[order]
        ts = ts[order] if ts is not None else None
        if self.config.protocol is SplitProtocol.TIME and (ts is None or np.isnan(ts).any()):
            missing = len(user) if ts is None else int(np.isnan(ts).sum())
            raise ExportError(f"the time split needs a ts on every LISTENED; {missing} have none")
        bounds = np.flatnonzero(np.diff(user)) + 1
        starts, ends = np.r_[0, bounds], np.r_[bounds, len(user)]
        users = user[starts] if len(user) else user
        if self._done[users].any():
            raise ValueError(f"user index {int(users[self._done[users]][0])} came in two chunks")
        self._done[users] = True
        out: dict[str, list[np.ndarray]] = {}
        for u, a, b in zip(users.tolist(), starts.tolist(), ends.tolist()):
            rng = user_rng(self.seed, u)
            if self.config.protocol is SplitProtocol.KGCN_CTR:
                self._ctr_user(u, track[a:b], rng, out)
            else:
                self._split_user(u, track[a:b], None if ts is None else ts[a:b], rng, out)
        for name, blocks in out.items():
            target = self._ctr if self.config.protocol is SplitProtocol.KGCN_CTR else self._parts
            target[name].append(np.concatenate(blocks))

    def close(self) -> dict[str, int]:
        """Finish the part files (for ``kgcn-ctr``: the global split) and return their sizes."""
        if self._ctr:
            for column in self._ctr.values():
                column.close()
            self._split_labelled()
            shutil.rmtree(self.folder / _CTR)
        for part in self._parts.values():
            part.close()
        sizes = {name: part.rows for name, part in self._parts.items()}
        return {**sizes, COLD_TRACKS: len(self._cold)} if self._cold.size else sizes

    def _split_user(self, u: int, tracks: np.ndarray, ts: np.ndarray | None,
                    rng: np.random.Generator, out: dict[str, list[np.ndarray]]) -> None:
        if self.config.protocol is SplitProtocol.COLD_ITEMS:
            cold = _member(tracks, self._cold)
            shuffled = tracks[cold][rng.permutation(int(cold.sum()))]
            half = len(shuffled) // 2
            out.setdefault("valid_cold", []).append(_pairs(u, shuffled[:half]))
            out.setdefault("test_cold", []).append(_pairs(u, shuffled[half:]))
            seen_for_negatives = np.union1d(tracks, self._cold)             # negatives: warm only
            tracks = tracks[~cold]
        else:
            seen_for_negatives = tracks
        n = len(tracks)
        if self.config.protocol is SplitProtocol.TIME:
            tracks = tracks[np.argsort(ts, kind="stable")]  # tracks are sorted: ties by track
            n_valid, n_test = _ratio_counts(n, self.config.fractions)
        else:
            tracks = tracks[rng.permutation(n)]
            n_valid, n_test = topk_801010_counts(n) if self.config.protocol is SplitProtocol.TOPK_801010 \
                else _ratio_counts(n, self.config.fractions)
        n_train = n - n_valid - n_test
        for name, part in zip(PARTS, (tracks[:n_train], tracks[n_train:n_train + n_valid],
                                      tracks[n_train + n_valid:])):
            out.setdefault(name, []).append(_pairs(u, part))
        if n_valid + n_test == 0:
            return
        seen = np.sort(seen_for_negatives)
        drawn = sample_unseen(rng, seen, self.n_tracks, n_valid + n_test,
                              replace=self.n_tracks - len(seen) < n_valid + n_test)
        if len(drawn) == 0:
            self.saturated.append(u)
            return
        out.setdefault("valid_neg", []).append(_pairs(u, drawn[:n_valid]))
        out.setdefault("test_neg", []).append(_pairs(u, drawn[n_valid:]))

    def _ctr_user(self, u: int, tracks: np.ndarray, rng: np.random.Generator,
                  out: dict[str, list[np.ndarray]]) -> None:
        negatives = np.sort(sample_unseen(rng, tracks, self.n_tracks, len(tracks)))
        n = len(tracks) + len(negatives)
        out.setdefault("user", []).append(np.full(n, u, dtype=np.int64))
        out.setdefault("track", []).append(np.concatenate([tracks, negatives]))
        out.setdefault("label", []).append(np.r_[np.ones(len(tracks), np.uint8), np.zeros(len(negatives), np.uint8)])
        out.setdefault("key", []).append(rng.bit_generator.random_raw(n).astype(np.uint64))

    def _split_labelled(self) -> None:
        """``kgcn-ctr``'s global split of the labelled rows kept in ``_ctr`` (read back in blocks)."""
        n_rows = self._ctr["key"].rows
        _, f_valid, f_test = self.config.fractions
        n_valid, n_test = _floor(n_rows * f_valid), _floor(n_rows * f_test)
        valid_end, test_end = _rank_bounds(self._labelled, [n_valid, n_valid + n_test], n_rows)
        for block in self._labelled():
            below_valid, below_test = _below(block, valid_end), _below(block, test_end)
            pairs = np.stack([block["user"], block["track"]], axis=1)
            positive = block["label"] == 1
            for name, mask in (("valid", below_valid), ("test", below_test & ~below_valid),
                               ("train", ~below_test)):
                self._parts[name].append(pairs[mask & positive])
                self._parts[f"{name}_neg"].append(pairs[mask & ~positive])

    def _labelled(self) -> Iterator[dict[str, np.ndarray]]:
        """The labelled rows, ``_SCAN_ROWS`` at a time, as ``{column: array}``."""
        columns = [read_blocks(self.folder / _CTR / f"{name}.npy", _SCAN_ROWS) for name in _CTR_COLUMNS]
        for arrays in zip(*columns):
            yield dict(zip(_CTR_COLUMNS, arrays))


_CTR = "_ctr"
_CTR_COLUMNS = {"key": np.uint64, "user": np.int64, "label": np.uint8, "track": np.int64}
"""A labelled row of ``kgcn-ctr``, in the order it is ranked by."""
_SCAN_ROWS = 1 << 18
_BUCKET_SHIFT = np.uint64(48)  # keys are bucketed by their top 16 bits


def _rank_bounds(blocks: Callable[[], Iterator[dict[str, np.ndarray]]], ranks: list[int],
                 n_rows: int) -> list[tuple[int, ...] | None]:
    """For each rank ``r``: the (key, user, label, track) tuple that exactly ``r`` of the
    ``n_rows`` rows rank below, or None when ``r`` is every row. Two passes over ``blocks()``: a
    histogram of the keys' top bits, then the rows of the bucket holding the rank, sorted (keys
    are uniform, so a bucket holds about ``n_rows / 65536`` rows)."""
    counts = np.zeros(1 << 16, dtype=np.int64)
    for block in blocks():
        counts += np.bincount((block["key"] >> _BUCKET_SHIFT).astype(np.int64), minlength=len(counts))
    before = np.r_[0, np.cumsum(counts)]
    buckets = {rank: int(np.searchsorted(before, rank, side="right")) - 1 for rank in ranks if rank < n_rows}
    members: dict[int, list[dict[str, np.ndarray]]] = {bucket: [] for bucket in buckets.values()}
    for block in blocks():
        top = (block["key"] >> _BUCKET_SHIFT).astype(np.int64)
        for bucket, found in members.items():
            mask = top == bucket
            found.append({name: column[mask] for name, column in block.items()})
    bounds: list[tuple[int, ...] | None] = []
    for rank in ranks:
        if rank >= n_rows:
            bounds.append(None)
            continue
        bucket = buckets[rank]
        inside = {name: np.concatenate([m[name] for m in members[bucket]]) for name in _CTR_COLUMNS}
        order = np.lexsort(tuple(inside[name] for name in reversed(_CTR_COLUMNS)))
        k = order[rank - before[bucket]]
        bounds.append(tuple(int(inside[name][k]) for name in _CTR_COLUMNS))
    return bounds


def _below(block: dict[str, np.ndarray], bound: tuple[int, ...] | None) -> np.ndarray:
    """Rows of ``block`` whose (key, user, label, track) tuple ranks below ``bound``."""
    if bound is None:
        return np.ones(len(block["key"]), dtype=bool)
    less = np.zeros(len(block["key"]), dtype=bool)
    equal = np.ones(len(block["key"]), dtype=bool)
    for name, value in zip(_CTR_COLUMNS, bound):
        column, value = block[name], block[name].dtype.type(value)
        less |= equal & (column < value)
        equal &= column == value
    return less


def _ratio_counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int]:
    return _floor(n * fractions[1]), _floor(n * fractions[2])


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


def _floor(x: float) -> int:
    return math.floor(x + _EPS)


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[pos] == values


def _pairs(u: int, items: np.ndarray) -> np.ndarray:
    return np.stack([np.full(len(items), u, dtype=np.int64), items.astype(np.int64)], axis=1)
