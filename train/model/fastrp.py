r"""The GDS FastRP baseline: item-to-item kNN over FastRP vectors of the training graph."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from mmkg.errors import TrainError
from mmkg.train.model.base import VectorRecommender
from mmkg.train.registry import MODELS


@MODELS.register("fastrp")
class FastRP(VectorRecommender):
    r"""What a Neo4j user builds first: Graph Data Science FastRP vectors (computed at export
    time, :mod:`mmkg.export.fastrp`, on the training graph only) and item kNN over the user's
    training history: the mean cosine similarity of an item to the tracks the user listened to,

    .. math::
        s(u, i) = \frac{1}{|H_u|} \sum_{j \in H_u} \cos(x_i, x_j)
                = \Big\langle \frac{1}{|H_u|} \sum_{j \in H_u} \hat x_j,\ \hat x_i \Big\rangle,
        \qquad \hat x = x / \lVert x \rVert .

    So the vectors are :math:`U_u` = mean of the history's unit vectors, :math:`I_i = \hat x_i`.
    Nothing is trained. (Scoring by the dot product of FastRP's own user and track vectors
    ranks far worse on Last.FM validation: users and tracks sit on opposite sides of the
    bipartite graph, so their k-hop averages cover different nodes.)

    Args:
        items: FastRP track vectors ``[n_items, d]``.
        n_users: number of users.
        train: training pairs ``[n, 2]`` (user, item): the histories :math:`H_u`.

    Shapes:
        - propagate: ``(U [n_users, d], I [n_items, d])``
    """

    def __init__(self, items: torch.Tensor, n_users: int, train: np.ndarray) -> None:
        super().__init__()
        self.n_users, self.n_items = n_users, items.shape[0]
        unit = F.normalize(items.float(), dim=1)                               # [n_items, d]
        pairs = torch.as_tensor(np.unique(np.asarray(train, np.int64).reshape(-1, 2), axis=0))
        history = torch.zeros(n_users, unit.shape[1]).index_add_(0, pairs[:, 0], unit[pairs[:, 1]])
        counts = torch.bincount(pairs[:, 0], minlength=n_users).clamp(min=1).unsqueeze(1)
        # data, not parameters: rebuilt from the export, so model.pt stays small
        self.register_buffer("user_vectors", history / counts, persistent=False)  # [n_users, d]
        self.register_buffer("item_vectors", unit, persistent=False)              # [n_items, d]

    @classmethod
    def from_data(cls, config, data, rng: np.random.Generator) -> "FastRP":
        if data.fastrp is None:
            raise TrainError("the export has no FastRP vectors: export it with `mmkg export --fastrp`")
        return cls(data.fastrp[1], data.n_users, data.train)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_vectors, self.item_vectors
