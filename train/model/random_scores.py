"""The random baseline: every user gets an independent uniformly random order of the tracks."""

from __future__ import annotations

import numpy as np
import torch

from mmkg.train.model.base import VectorRecommender
from mmkg.train.registry import MODELS


@MODELS.register("random")
class RandomScores(VectorRecommender):
    r"""``s(u, i) = ⟨U_u, I_i⟩`` with :math:`U_u, I_i \sim \mathcal N(0, 1)^d` drawn once from
    the model's seed: for a fixed user the scores are i.i.d. :math:`\mathcal N(0, \|U_u\|^2)` over
    the items, so each user's ranking is a uniformly random permutation. Nothing is learned; the
    chance level of every top-K metric."""

    def __init__(self, n_users: int, n_items: int, dim: int, rng: np.random.Generator) -> None:
        super().__init__()
        self.n_users, self.n_items = n_users, n_items
        self.register_buffer("u", torch.as_tensor(rng.standard_normal((n_users, dim)), dtype=torch.float32))
        self.register_buffer("i", torch.as_tensor(rng.standard_normal((n_items, dim)), dtype=torch.float32))

    @classmethod
    def from_data(cls, config, data, rng: np.random.Generator) -> "RandomScores":
        return cls(data.n_users, data.n_items, config.dim, rng)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.u, self.i
