"""Seeded sampling: KG neighbour tables, user history tables, and the negative samplers.

Negative samplers (registry :data:`mmkg.train.registry.NEGATIVES`, chosen by ``TrainConfig.negatives``):

- ``ratio`` (MKGCN paper): every training positive gets ``neg_ratio`` items of its own, drawn
  once per epoch and rejection-sampled so that none is one of the user's training positives.
- ``shared``: each batch draws ``neg_ratio`` items (uniform, or ∝ (pop + 1)^alpha) that every
  positive of the batch uses as negatives; a user's own training positives are masked out.
- ``in-batch``: the batch's other positives are the negatives (popularity-distributed by
  construction); the user's own training positives, the positive itself included, are masked.

Popularity counts training interactions only. Items outside ``candidates`` (the cold tracks of a
``cold-items`` export: they do not exist at training time) are never drawn. Every function takes a
seeded generator; nothing touches global random state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mmkg.errors import TrainError
from mmkg.train.registry import NEGATIVES


def neighbour_table(
    n_entities: int, kg: np.ndarray, k: int, self_relation: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``k`` (neighbour, relation) pairs for every entity of the KG.

    The KG (``[n_edges, 3]`` head, relation, tail; pass both directions for an undirected KG) is
    loaded into a DGL graph whose CSR adjacency gives each entity's edges. An entity of degree
    ``>= k`` gets ``k`` distinct edges (without replacement); one of smaller degree gets ``k``
    draws with replacement; an isolated entity gets ``k`` self-loops with ``self_relation``.

    Returns:
        ``(entity [n_entities, k], relation [n_entities, k])`` int64 tensors.
    """
    import dgl

    g = dgl.graph((torch.as_tensor(kg[:, 0]), torch.as_tensor(kg[:, 2])), num_nodes=n_entities)
    indptr, indices, eids = (t.numpy() for t in g.adj_tensors("csr"))
    relation_of_edge = kg[:, 1]
    degree = np.diff(indptr)
    slot = np.empty((n_entities, k), dtype=np.int64)  # positions in `indices`

    # degree >= k: a random permutation within each entity's edges, first k kept
    big = degree >= k
    if big.any():
        rows = np.repeat(np.arange(n_entities), degree)
        order = np.lexsort((rng.random(len(rows)), rows))  # shuffled within each row
        rank = np.arange(len(rows)) - indptr[rows[order]]
        keep = order[(rank < k) & big[rows[order]]]
        slot[big] = keep.reshape(-1, k)
    small = (degree > 0) & ~big
    if small.any():
        draw = (rng.random((int(small.sum()), k)) * degree[small, None]).astype(np.int64)
        slot[small] = indptr[:-1][small, None] + draw

    entity = np.empty((n_entities, k), dtype=np.int64)
    relation = np.empty((n_entities, k), dtype=np.int64)
    alone = degree == 0
    entity[~alone] = indices[slot[~alone]]
    relation[~alone] = relation_of_edge[eids[slot[~alone]]]
    entity[alone] = np.arange(n_entities)[alone, None]
    relation[alone] = self_relation
    return torch.from_numpy(entity), torch.from_numpy(relation)


def history_table(
    n_users: int, train: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to ``k`` **training** items per user, sampled without replacement; padded with a mask.

    Returns:
        ``(items [n_users, k] int64, mask [n_users, k] bool)``; padded slots hold item 0, mask False.
    """
    items = np.zeros((n_users, k), dtype=np.int64)
    mask = np.zeros((n_users, k), dtype=bool)
    order = np.lexsort((rng.random(len(train)), train[:, 0]))
    users = train[order, 0]
    starts = np.searchsorted(users, np.arange(n_users))
    rank = np.arange(len(users)) - starts[users]
    keep = rank < k
    items[users[keep], rank[keep]] = train[order[keep], 1]
    mask[users[keep], rank[keep]] = True
    return torch.from_numpy(items), torch.from_numpy(mask)


class NegativeSampler:
    """Ratio negative sampling: for every training positive ``(u, i)``, ``ratio`` items ``j`` that
    ``u`` has not interacted with in training.

    ``P(j) ∝ (pop_j + 1)^alpha`` where ``pop_j`` counts **training** interactions only; ``alpha = 0``
    is uniform, ``alpha > 0`` favours popular (harder) negatives, ``alpha < 0`` the long tail. Draws
    are rejection-sampled against the user's training positives, so a positive is never returned.

    Args:
        train: int64 ``[n, 2]`` (user, item) training positives.
        n_items: size of the item index space.
        ratio: negatives per positive.
        alpha: popularity exponent.
        candidates: bool ``[n_items]``, the items that may be drawn (None: all).
    """

    def __init__(self, train: np.ndarray, n_items: int, ratio: int = 1, alpha: float = 0.0,
                 candidates: np.ndarray | None = None) -> None:
        self.train = np.asarray(train, dtype=np.int64)
        self.n_items = n_items
        self.ratio = ratio
        self._positive_keys = np.unique(self.train[:, 0] * n_items + self.train[:, 1])
        popularity = np.bincount(self.train[:, 1], minlength=n_items).astype(np.float64)
        weights = _drawable((popularity + 1.0) ** alpha, candidates)
        self._cdf = np.cumsum(weights / weights.sum())
        per_user = np.bincount(self.train[:, 0])
        if (per_user >= n_items).any():
            raise TrainError("a user interacted with every item in training: no negative exists for them")

    def is_positive(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        keys = users * self.n_items + items
        pos = np.searchsorted(self._positive_keys, keys)
        pos = np.minimum(pos, len(self._positive_keys) - 1)
        return self._positive_keys[pos] == keys

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.minimum(np.searchsorted(self._cdf, rng.random(n), side="right"), self.n_items - 1)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Negatives aligned with ``train``: int64 ``[n_train, ratio]`` item indices."""
        users = np.repeat(self.train[:, 0], self.ratio)
        items = self._draw(len(users), rng)
        bad = np.flatnonzero(self.is_positive(users, items))
        while len(bad):
            items[bad] = self._draw(len(bad), rng)
            bad = bad[self.is_positive(users[bad], items[bad])]
        return items.reshape(-1, self.ratio)


@dataclass(frozen=True)
class Negatives:
    """One batch's negatives.

    Attributes:
        items: ``[B, n]`` per positive, or ``[N]`` shared by the whole batch.
        valid: ``[B, n]`` / ``[B, N]`` bool, False where the item is a training positive of the row's user.
        log_q_pos, log_q_neg: log of the expected number of times the sampler proposes the
            positive / each negative (``log(N q_j)``), for the sampled-softmax correction; None
            when the sampler is not asked to correct.
    """

    items: torch.Tensor
    valid: torch.Tensor
    log_q_pos: torch.Tensor | None = None
    log_q_neg: torch.Tensor | None = None

    def rows(self, keep: torch.Tensor) -> "Negatives":
        """The negatives of the positives where ``keep`` (``[B]`` bool) is True."""
        def per_row(t: torch.Tensor | None, shared_dims: int) -> torch.Tensor | None:
            return t if t is None or t.dim() == shared_dims else t[keep]

        return Negatives(per_row(self.items, 1), self.valid[keep], per_row(self.log_q_pos, 0),
                         per_row(self.log_q_neg, 1))


class _TrainPositives:
    """Membership test "is (u, i) a training positive?" on torch tensors: sorted keys + search,
    and each item's listeners (sorted ``user · n_items + item`` keys are also item-major once
    re-sorted by item)."""

    def __init__(self, train: np.ndarray, n_items: int) -> None:
        self.n_items = n_items
        pairs = np.unique(train[:, 0] * n_items + train[:, 1])
        self.keys = torch.as_tensor(pairs)
        users, items = pairs // n_items, pairs % n_items
        by_item = np.argsort(items, kind="stable")
        self.listeners = torch.as_tensor(users[by_item])
        self.listener_start = torch.as_tensor(np.concatenate([[0], np.cumsum(np.bincount(items, minlength=n_items))]))

    def contains(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        keys = users * self.n_items + items
        pos = torch.searchsorted(self.keys, keys).clamp(max=len(self.keys) - 1)
        return self.keys[pos] == keys

    def grid(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``contains(users[:, None], items[None, :])`` ``[B, N]``, from the listeners of the
        ``N`` items instead of ``B · N`` searches: cost ``O(B log B + P log B)`` with ``P`` the
        listens of those items (a batch of shared negatives: ``N`` small, ``B`` large)."""
        start, count = self.listener_start[items], self.listener_start[items + 1] - self.listener_start[items]
        column = torch.repeat_interleave(torch.arange(len(items)), count)             # [P]
        offset = torch.arange(len(column)) - torch.repeat_interleave(count.cumsum(0) - count, count)
        listener = self.listeners[start[column] + offset]                                 # [P]
        batch_users, order = torch.sort(users)
        lo = torch.searchsorted(batch_users, listener)
        hits = torch.searchsorted(batch_users, listener, right=True) - lo               # rows per listen
        column = torch.repeat_interleave(column, hits)
        first = torch.repeat_interleave(lo, hits)
        rank = torch.arange(len(first)) - torch.repeat_interleave(hits.cumsum(0) - hits, hits)
        out = torch.zeros(len(users), len(items), dtype=torch.bool)
        out[order[first + rank], column] = True
        return out


@NEGATIVES.register("ratio")
class RatioNegatives:
    """``ratio``: the paper's per-positive negatives, drawn once per epoch (:class:`NegativeSampler`)."""

    def __init__(self, train: np.ndarray, n_items: int, ratio: int, alpha: float, correct: bool,
                 candidates: np.ndarray | None = None) -> None:
        self.sampler = NegativeSampler(train, n_items, ratio, alpha, candidates)
        self.epoch_items = torch.zeros(0, ratio, dtype=torch.long)

    def start_epoch(self, rng: np.random.Generator) -> None:
        self.epoch_items = torch.as_tensor(self.sampler.sample(rng))

    def draw(self, rows: torch.Tensor, users: torch.Tensor, pos: torch.Tensor,
             gen: torch.Generator) -> Negatives:
        items = self.epoch_items[rows]
        return Negatives(items, torch.ones_like(items, dtype=torch.bool))


@NEGATIVES.register("shared")
class SharedNegatives:
    """``shared``: ``n`` items per batch drawn with probability ∝ (pop + 1)^alpha."""

    def __init__(self, train: np.ndarray, n_items: int, ratio: int, alpha: float, correct: bool,
                 candidates: np.ndarray | None = None) -> None:
        popularity = torch.as_tensor(np.bincount(train[:, 1], minlength=n_items), dtype=torch.float64)
        weights = torch.as_tensor(_drawable(((popularity + 1.0) ** alpha).numpy(), candidates))
        self.prob = (weights / weights.sum()).float()
        self.n, self.correct = ratio, correct
        self.positives = _TrainPositives(train, n_items)

    def start_epoch(self, rng: np.random.Generator) -> None:
        pass

    def draw(self, rows: torch.Tensor, users: torch.Tensor, pos: torch.Tensor,
             gen: torch.Generator) -> Negatives:
        items = torch.multinomial(self.prob, self.n, replacement=True, generator=gen)
        valid = ~self.positives.grid(users, items)
        if not self.correct:
            return Negatives(items, valid)
        log_q = torch.log(self.n * self.prob)
        return Negatives(items, valid, log_q[pos], log_q[items])


@NEGATIVES.register("in-batch")
class InBatchNegatives:
    """``in-batch``: the other positives of the batch; expected proposals ``B · pop_j / |train|``."""

    def __init__(self, train: np.ndarray, n_items: int, ratio: int, alpha: float, correct: bool,
                 candidates: np.ndarray | None = None) -> None:
        popularity = torch.as_tensor(np.bincount(train[:, 1], minlength=n_items), dtype=torch.float32)
        self.prob = popularity.clamp(min=1) / len(train)
        self.correct = correct
        self.positives = _TrainPositives(train, n_items)

    def start_epoch(self, rng: np.random.Generator) -> None:
        pass

    def draw(self, rows: torch.Tensor, users: torch.Tensor, pos: torch.Tensor,
             gen: torch.Generator) -> Negatives:
        valid = ~self.positives.contains(users.unsqueeze(1), pos.unsqueeze(0))
        if not self.correct:
            return Negatives(pos, valid)
        log_q = torch.log(len(pos) * self.prob[pos])
        return Negatives(pos, valid, log_q, log_q)


def _drawable(weights: np.ndarray, candidates: np.ndarray | None) -> np.ndarray:
    """``weights`` with the items outside ``candidates`` set to 0."""
    return weights if candidates is None else np.where(candidates, weights, 0.0)
