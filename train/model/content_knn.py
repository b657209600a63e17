"""Content kNN: a track scores by how much its media features resemble the user's training tracks."""

from __future__ import annotations

import numpy as np
import torch

from mmkg.errors import TrainError
from mmkg.train.model.base import VectorRecommender
from mmkg.train.registry import MODELS


def user_sums(n_users: int, train: np.ndarray, item_vectors: torch.Tensor, mean: bool) -> torch.Tensor:
    """``U_u = Σ_{j ∈ train(u)} I_j`` (``mean``: divided by ``|train(u)|``); 0 for users without
    training items. Training pairs only. Shapes: ``item_vectors [n_items, d] → [n_users, d]``."""
    pairs = np.unique(np.asarray(train, dtype=np.int64).reshape(-1, 2), axis=0)
    users = torch.as_tensor(pairs[:, 0])
    out = torch.zeros(n_users, item_vectors.shape[1]).index_add_(0, users, item_vectors[pairs[:, 1]])
    if mean:
        out = out / torch.bincount(users, minlength=n_users).clamp(min=1).unsqueeze(1).float()
    return out


@MODELS.register("content-knn")
class ContentKNN(VectorRecommender):
    r"""Item kNN on media features: :math:`s(u, i) = \frac{1}{|T_u|} \sum_{j \in T_u} \cos(z_i, z_j)`
    over the user's training tracks :math:`T_u`, where :math:`z_i` concatenates the track's
    modality vectors, each z-scored per column and scaled to unit mean row norm
    (:func:`mmkg.train.data.standardize`; raw extractor outputs would make every cosine 0.74–0.95)
    and zero where missing. As vectors: :math:`I_i = z_i / \|z_i\|`, :math:`U_u = \mathrm{mean}_{j
    \in T_u} I_j`. Nothing is learned; scores any track that has features, listened or not.

    Raises:
        TrainError: the export has no modality (nothing to compare).
    """

    def __init__(self, n_users: int, features: torch.Tensor, train: np.ndarray) -> None:
        super().__init__()
        self.n_users, self.n_items = n_users, features.shape[0]
        items = features / features.norm(dim=1, keepdim=True).clamp(min=1e-12)
        self.register_buffer("i", items)
        self.register_buffer("u", user_sums(n_users, train, items, mean=True))

    @classmethod
    def from_data(cls, config, data, rng: np.random.Generator) -> "ContentKNN":
        if not data.modalities:
            raise TrainError("content-knn needs modality vectors; the export has none")
        return cls(data.n_users, torch.cat([m.values for m in data.modalities], 1), data.train)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.u, self.i
