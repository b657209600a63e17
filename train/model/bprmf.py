"""BPR-MF: one learned vector per user and per item."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mmkg.train.model.base import VectorRecommender
from mmkg.train.registry import MODELS


@MODELS.register("bpr")
class BPRMF(VectorRecommender):
    """Matrix factorisation (Rendle et al., UAI 2009): ``s(u, i) = e_u · e_i``; trained by
    whichever objective the config names (BPR in the paper)."""

    id_tables = {"user.weight": "user", "item.weight": "item"}

    def __init__(self, n_users: int, n_items: int, dim: int) -> None:
        super().__init__()
        self.n_users, self.n_items = n_users, n_items
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        nn.init.normal_(self.user.weight, std=0.1)
        nn.init.normal_(self.item.weight, std=0.1)

    @classmethod
    def from_data(cls, config, data, rng: np.random.Generator) -> "BPRMF":
        return cls(data.n_users, data.n_items, config.dim)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user.weight, self.item.weight

    def ego(self, users: torch.Tensor, items: torch.Tensor) -> list[torch.Tensor]:
        return [self.user(users), self.item(items)]
