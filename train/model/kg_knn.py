"""KG kNN baselines: a track scores by the knowledge-graph neighbours it shares with the user's
training tracks (artist, album, genre, tags; KG facts)."""

from __future__ import annotations

import numpy as np
import torch

from mmkg.train.model.base import VectorRecommender
from mmkg.train.model.content_knn import user_sums
from mmkg.train.registry import MODELS


def item_neighbours(n_items: int, kg: np.ndarray) -> torch.Tensor:
    """The 0/1 incidence ``a [n_items, n_shared]`` of items and their one-hop KG neighbours,
    keeping only the neighbours adjacent to at least two items (no other can be shared)."""
    kg = np.asarray(kg, dtype=np.int64).reshape(-1, 3)
    edges = np.unique(kg[(kg[:, 0] < n_items) & (kg[:, 2] != kg[:, 0])][:, [0, 2]], axis=0)
    shared, column = np.unique(edges[:, 1], return_inverse=True)
    keep = np.bincount(column, minlength=len(shared)) >= 2
    remap = np.cumsum(keep) - 1
    edges, column = edges[keep[column]], remap[column[keep[column]]]
    a = torch.zeros(n_items, int(keep.sum()))
    a[torch.as_tensor(edges[:, 0]), torch.as_tensor(column)] = 1.0
    return a


class KGNeighbourOverlap(VectorRecommender):
    r""":math:`s(u, i) = \sum_{j \in T_u} \frac{|N(i) \cap N(j)|}{|N(i)|^{\alpha} |N(j)|^{\beta}}`
    over the user's training tracks :math:`T_u`, :math:`N(\cdot)` the one-hop KG neighbours.
    As vectors: :math:`I_i = a_i / |N(i)|^{\alpha}`, :math:`U_u = \sum_{j \in T_u} a_j / |N(j)|^{\beta}`.
    Nothing is learned; training pairs only."""

    alpha: float
    beta: float

    def __init__(self, n_users: int, n_items: int, kg: np.ndarray, train: np.ndarray) -> None:
        super().__init__()
        self.n_users, self.n_items = n_users, n_items
        a = item_neighbours(n_items, kg)
        degree = a.sum(1, keepdim=True).clamp(min=1)
        self.register_buffer("i", a / degree ** self.alpha)
        self.register_buffer("u", user_sums(n_users, train, a / degree ** self.beta, mean=False))

    @classmethod
    def from_data(cls, config, data, rng: np.random.Generator) -> "KGNeighbourOverlap":
        return cls(data.n_users, data.n_items, data.kg, data.train)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.u, self.i


@MODELS.register("kg-knn")
class KGKNN(KGNeighbourOverlap):
    """Item kNN on KG neighbour sets, cosine similarity (:math:`\\alpha = \\beta = 1/2`)."""

    alpha = beta = 0.5


@MODELS.register("kg-pop")
class KGNeighbourPopularity(KGNeighbourOverlap):
    """Popularity of a track's KG neighbours (its artist, genre, ...) among the user's training
    listens: the mean over :math:`e \\in N(i)` of how many of the user's training tracks have
    :math:`e` (:math:`\\alpha = 1, \\beta = 0`)."""

    alpha, beta = 1.0, 0.0
