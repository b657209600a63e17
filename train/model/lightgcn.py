"""LightGCN, and the normalised user–item adjacency that MKGCN propagates over too."""

from __future__ import annotations

import numpy as np
import torch

from mmkg.train.model.bprmf import BPRMF
from mmkg.train.model.sparse import csr, symmetric_matmul
from mmkg.train.registry import MODELS


def normalized_adjacency(n_users: int, n_items: int, train: np.ndarray) -> torch.Tensor:
    r"""The symmetric :math:`\hat A = D^{-1/2} A D^{-1/2}` of the bipartite graph of **training**
    interactions, nodes ``[users; items]`` (sparse COO ``[n_users + n_items]²``). Repeated pairs
    count once."""
    pairs = np.unique(np.asarray(train, dtype=np.int64).reshape(-1, 2), axis=0)
    u = torch.as_tensor(pairs[:, 0])
    i = torch.as_tensor(pairs[:, 1]) + n_users
    rows, cols = torch.cat([u, i]), torch.cat([i, u])
    n = n_users + n_items
    deg = torch.bincount(rows, minlength=n).float().clamp(min=1)
    return csr(rows, cols, deg[rows].rsqrt() * deg[cols].rsqrt(), (n, n))


def propagate_layers(adj: torch.Tensor, x: torch.Tensor, layers: int) -> torch.Tensor:
    r"""LightGCN propagation: :math:`\frac{1}{L+1}\sum_{l=0}^{L} \hat A^l x` (``adj`` symmetric,
    as :func:`normalized_adjacency` builds it)."""
    out = x
    for _ in range(layers):
        x = symmetric_matmul(adj, x)
        out = out + x
    return out / (layers + 1)


@MODELS.register("lightgcn")
class LightGCN(BPRMF):
    r"""LightGCN (He et al., SIGIR 2020): :math:`E^{(l+1)} = \hat A E^{(l)}` on the user–item
    graph of training interactions, final vectors :math:`\mathrm{mean}_{l=0..L} E^{(l)}`, L2 on
    the layer-0 rows of the batch."""

    def __init__(self, n_users: int, n_items: int, dim: int, layers: int, train: np.ndarray) -> None:
        super().__init__(n_users, n_items, dim)
        self.layers = layers
        self.register_buffer("adj", normalized_adjacency(n_users, n_items, train), persistent=False)

    @classmethod
    def from_data(cls, config, data, rng: np.random.Generator) -> "LightGCN":
        return cls(data.n_users, data.n_items, config.dim, config.layers, data.train)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        out = propagate_layers(self.adj, torch.cat([self.user.weight, self.item.weight]), self.layers)
        return tuple(out.split([self.n_users, self.n_items]))
