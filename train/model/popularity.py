"""The popularity baseline: every user gets the tracks most listened to in training."""

from __future__ import annotations

import numpy as np
import torch

from mmkg.train.model.base import VectorRecommender
from mmkg.train.registry import MODELS


@MODELS.register("pop")
class Popularity(VectorRecommender):
    """``logit(u, i) = log((pop_i + 1) / (max_j pop_j + 1))``: the item's training-interaction
    count, the same order for every user; nothing is learned. As vectors: ``I_i = [logit_i]``,
    ``U_u = [1]``."""

    def __init__(self, popularity: np.ndarray, n_users: int) -> None:
        super().__init__()
        self.n_items, self.n_users = len(popularity), n_users
        pop = torch.as_tensor(popularity, dtype=torch.float32)
        self.register_buffer("logit", torch.log((pop + 1) / (pop.max() + 1)))

    @classmethod
    def from_data(cls, config, data, rng: np.random.Generator) -> "Popularity":
        return cls(data.popularity(), data.n_users)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.ones(self.n_users, 1), self.logit.unsqueeze(1)
