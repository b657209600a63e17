"""Seeded sampling: KG neighbour tables, user history tables, and ratio negative sampling.

Every function takes a :class:`numpy.random.Generator`; nothing touches global random state.
"""

from __future__ import annotations

import numpy as np
import torch


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
    """

    def __init__(self, train: np.ndarray, n_items: int, ratio: int = 1, alpha: float = 0.0) -> None:
        self.train = np.asarray(train, dtype=np.int64)
        self.n_items = n_items
        self.ratio = ratio
        self._positive_keys = np.unique(self.train[:, 0] * n_items + self.train[:, 1])
        popularity = np.bincount(self.train[:, 1], minlength=n_items).astype(np.float64)
        weights = (popularity + 1.0) ** alpha
        self._cdf = np.cumsum(weights / weights.sum())
        per_user = np.bincount(self.train[:, 0])
        if (per_user >= n_items).any():
            raise ValueError("a user interacted with every item: no negative exists")

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
