"""Baselines on the same data and protocols: popularity, BPR-MF, LightGCN (KGCN is
:class:`~mmkg.train.model.MKGCN` with ``model = "kgcn"``), and :func:`build_model` for every name."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mmkg.train.config import ModelConfig
from mmkg.train.model.base import Recommender


class Popularity(Recommender):
    """Score = training popularity: ``logit(u, i) = log((pop_i + 1) / (max_j pop_j + 1))`` — the
    order is the item's training-interaction count, the same for every user; nothing is learned."""

    def __init__(self, popularity: np.ndarray, n_users: int) -> None:
        super().__init__()
        self.n_items, self.n_users = len(popularity), n_users
        pop = torch.as_tensor(popularity, dtype=torch.float32)
        self.register_buffer("logit", torch.log((pop + 1) / (pop.max() + 1)))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.logit[items]

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self.logit.expand(len(users), -1)

    def get_embedding(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.logit.unsqueeze(1), torch.ones(self.n_users, 1)


class BPRMF(Recommender):
    """BPR-MF (Rendle et al., UAI 2009): ``s(u, i) = e_u · e_i``, trained with
    ``−log σ(s(u, i) − s(u, j))`` over (positive, negative) pairs, plus L2."""

    def __init__(self, n_users: int, n_items: int, dim: int) -> None:
        super().__init__()
        self.n_users, self.n_items = n_users, n_items
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        nn.init.normal_(self.user.weight, std=0.1)
        nn.init.normal_(self.item.weight, std=0.1)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user.weight, self.item.weight

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        u, i = self.propagate()
        return (u[users] * i[items]).sum(-1)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        u, i = self.propagate()
        return u[users] @ i.T

    def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, l2: float) -> torch.Tensor:
        u, i = self.propagate()
        eu = u[users].unsqueeze(1)                                         # [B, 1, d]
        s_pos = (eu.squeeze(1) * i[pos]).sum(-1, keepdim=True)             # [B, 1]
        s_neg = (eu * i[neg]).sum(-1)                                      # [B, ratio]
        reg = (self.user(users).pow(2).sum() + self.item(pos).pow(2).sum()
               + self.item(neg).pow(2).sum()) / (2 * len(users))
        return -F.logsigmoid(s_pos - s_neg).mean() + l2 * reg

    @torch.no_grad()
    def get_embedding(self) -> tuple[torch.Tensor, torch.Tensor]:
        u, i = self.propagate()
        return i, u


class LightGCN(BPRMF):
    r"""LightGCN (He et al., SIGIR 2020): ``E^{(l+1)} = D^{-1/2} A D^{-1/2} E^{(l)}`` on the
    user–item graph of **training** interactions, final embeddings ``mean_{l=0..L} E^{(l)}``,
    BPR loss with L2 on the layer-0 embeddings."""

    def __init__(self, n_users: int, n_items: int, dim: int, layers: int, train: np.ndarray) -> None:
        super().__init__(n_users, n_items, dim)
        self.layers = layers
        u = torch.as_tensor(train[:, 0])
        i = torch.as_tensor(train[:, 1]) + n_users
        rows, cols = torch.cat([u, i]), torch.cat([i, u])
        n = n_users + n_items
        deg = torch.bincount(rows, minlength=n).float().clamp(min=1)
        vals = deg[rows].rsqrt() * deg[cols].rsqrt()
        self.register_buffer("adj", torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (n, n)).coalesce(),
                             persistent=False)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([self.user.weight, self.item.weight])
        out = x
        for _ in range(self.layers):
            x = torch.sparse.mm(self.adj, x)
            out = out + x
        out = out / (self.layers + 1)
        return out[: self.n_users], out[self.n_users:]


def build_model(config: ModelConfig, data, rng: np.random.Generator) -> Recommender:
    """The recommender named by ``config.model``, built on :class:`mmkg.train.data.TrainData`."""
    from mmkg.train.model import MKGCN

    if config.model in ("mkgcn", "kgcn"):
        return MKGCN.from_data(config, data, rng)
    if config.model == "pop":
        return Popularity(data.popularity(), data.n_users)
    if config.model == "bpr":
        return BPRMF(data.n_users, data.n_items, config.dim)
    return LightGCN(data.n_users, data.n_items, config.dim, config.layers, data.train)
