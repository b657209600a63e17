"""The item aggregator of KGCN/MKGCN: one user-aware convolution step over sampled KG neighbours."""

from __future__ import annotations

import torch
from torch import nn

AGGREGATORS = ("sum", "concat", "neighbor")
ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


class KGConv(nn.Module):
    r"""KGCN's aggregator (Wang et al., WWW 2019) with user–relation attention.

    .. math::
        \pi_u(r) = u \cdot r, \qquad
        v_{N(e)} = \sum_{k=1}^{K} \mathrm{softmax}_k(\pi_u(r_{ek}))\, h_{n_{ek}}

    then ``sum``: :math:`\sigma(W (h_e + v_N) + b)`, ``concat``: :math:`\sigma(W [h_e ; v_N] + b)`,
    ``neighbor``: :math:`\sigma(W v_N + b)`.

    Args:
        dim: embedding size d (in and out).
        aggregator: one of :data:`AGGREGATORS`.
        activation: ``relu``, ``sigmoid`` or ``tanh`` (the last layer of a stack uses tanh).

    Shapes:
        - self_vec ``[B, n, d]``, neigh_vec ``[B, n, K, d]``, neigh_rel ``[B, n, K, d]`` (or without
          the batch axis, then broadcast), user ``[B, d]`` → ``[B, n, d]``
    """

    def __init__(self, dim: int, aggregator: str = "sum", activation: str = "relu") -> None:
        super().__init__()
        if aggregator not in AGGREGATORS:
            raise ValueError(f"unknown aggregator {aggregator!r}; expected one of {AGGREGATORS}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {list(ACTIVATIONS)}")
        self.aggregator, self.activation = aggregator, activation
        self.linear = nn.Linear(2 * dim if aggregator == "concat" else dim, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    @staticmethod
    def attention(user: torch.Tensor, neigh_rel: torch.Tensor) -> torch.Tensor:
        """``softmax_k(u · r)``: ``[B, d]`` × ``[(B,) n, K, d]`` → ``[B, n, K]``."""
        if neigh_rel.dim() == 3:
            scores = torch.einsum("bd,nkd->bnk", user, neigh_rel)
        else:
            scores = torch.einsum("bd,bnkd->bnk", user, neigh_rel)
        return torch.softmax(scores, dim=-1)

    def forward(self, self_vec: torch.Tensor, neigh_vec: torch.Tensor, neigh_rel: torch.Tensor,
                user: torch.Tensor) -> torch.Tensor:
        weights = self.attention(user, neigh_rel)                          # [B, n, K]
        if neigh_vec.dim() == 3:                                           # shared by the batch
            neigh = torch.einsum("bnk,nkd->bnd", weights, neigh_vec)
        else:
            neigh = (weights.unsqueeze(-1) * neigh_vec).sum(-2)            # [B, n, d]
        if self_vec.dim() == 2:
            self_vec = self_vec.unsqueeze(0).expand_as(neigh)
        if self.aggregator == "sum":
            x = self_vec + neigh
        elif self.aggregator == "concat":
            x = torch.cat([self_vec, neigh], -1)
        else:
            x = neigh
        return ACTIVATIONS[self.activation](self.linear(x))
