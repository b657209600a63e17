"""The item aggregator of KGCN/MKGCN: one user-aware convolution step over sampled KG neighbours."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from mmkg.train.registry import ACTIVATIONS, AGGREGATORS

Split = Callable[[torch.Tensor, int], tuple[torch.Tensor | None, torch.Tensor]]
"""``(W, d) -> (W_self, W_neigh)`` with ``W [h_e ; v_N] = W_self h_e + W_neigh v_N`` (``None``:
the entity's own vector is not used)."""
AGGREGATORS.add("sum", lambda w, d: (w, w))
AGGREGATORS.add("concat", lambda w, d: (w[:, :d], w[:, d:]))
AGGREGATORS.add("neighbor", lambda w, d: (None, w))
for name, activation in {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}.items():
    ACTIVATIONS.add(name, activation)


class KGConv(nn.Module):
    r"""KGCN's aggregator (Wang et al., WWW 2019) with user–relation attention.

    .. math::
        \pi_u(r) = u \cdot r, \qquad
        v_{N(e)} = \sum_{k=1}^{K} \mathrm{softmax}_k(\pi_u(r_{ek}))\, h_{n_{ek}}

    then ``sum``: :math:`\sigma(W (h_e + v_N) + b)`, ``concat``: :math:`\sigma(W [h_e ; v_N] + b)`,
    ``neighbor``: :math:`\sigma(W v_N + b)`.

    ``W`` is linear, so ``W v_N = Σ_k a_k (W h_k)``: when the neighbour vectors do not depend on
    the user (no batch axis: the first iteration of score-all), they are transformed once and only
    the attention-weighted sum is done per user; ``π`` is gathered from ``u · R^T`` (``[B, R]``).

    Args:
        dim: embedding size d (in and out).
        aggregator: one of :data:`mmkg.train.registry.AGGREGATORS`.
        activation: ``relu``, ``sigmoid`` or ``tanh`` (the last layer of a stack uses tanh).

    Shapes:
        - self_vec ``[(B,) n, d]``, neigh_vec ``[(B,) n, K, d]``, neigh_rel (relation ids)
          ``[(B,) n, K]``, relations (embedding table) ``[R, d]``, user ``[B, d]`` → ``[B, n, d]``
    """

    def __init__(self, dim: int, aggregator: str = "sum", activation: str = "relu") -> None:
        super().__init__()
        self.split: Split = AGGREGATORS.get(aggregator)
        self.act = ACTIVATIONS.get(activation)
        self.dim, self.aggregator, self.activation = dim, aggregator, activation
        self.linear = nn.Linear(2 * dim if aggregator == "concat" else dim, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    @staticmethod
    def attention(user: torch.Tensor, neigh_rel: torch.Tensor, relations: torch.Tensor) -> torch.Tensor:
        """``softmax_k(u · r_k)`` → ``[B, n, K]``."""
        scores = user @ relations.T                                        # [B, R]
        if neigh_rel.dim() == 2:
            pi = scores[:, neigh_rel]
        else:
            pi = torch.gather(scores, 1, neigh_rel.reshape(len(user), -1)).view(neigh_rel.shape)
        return torch.softmax(pi, dim=-1)

    def forward(self, self_vec: torch.Tensor, neigh_vec: torch.Tensor, neigh_rel: torch.Tensor,
                relations: torch.Tensor, user: torch.Tensor) -> torch.Tensor:
        weights = self.attention(user, neigh_rel, relations)               # [B, n, K]
        w_self, w_neigh = self.split(self.linear.weight, self.dim)
        if neigh_vec.dim() == 3:                                           # shared by the batch
            neigh = torch.einsum("bnk,nkd->bnd", weights, neigh_vec @ w_neigh.T)
        else:
            neigh = (weights.unsqueeze(-1) * neigh_vec).sum(-2) @ w_neigh.T  # [B, n, d]
        x = neigh + self.linear.bias
        if w_self is not None:
            x = x + self_vec @ w_self.T                                    # broadcasts over B
        return self.act(x)
