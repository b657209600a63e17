"""The user aggregator of MKGCN: a user's preference vector from their training history."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mmkg.train.registry import USER_AGGREGATORS


@dataclass(frozen=True)
class UserAgg:
    """What a user aggregator reads: the history (else only the user-ID embedding), through
    self-attention or not."""

    history: bool
    attention: bool = False


USER_AGGREGATORS.add("multi-head", UserAgg(history=True, attention=True))
USER_AGGREGATORS.add("mean", UserAgg(history=True))
USER_AGGREGATORS.add("embedding", UserAgg(history=False))


class UserAggregator(nn.Module):
    r"""Build :math:`u` from up to :math:`K_u` (fused) training-history item vectors :math:`h_j`.

    - ``multi-head``: :math:`u = \mathrm{mean}_j\, \mathrm{MHA}(H, H, H)_j` over the present slots
      (self-attention, ``heads`` heads, padded slots masked as keys and excluded from the mean)
    - ``mean``: :math:`u = \mathrm{mean}_j h_j`
    - ``embedding``: :math:`u = e_u`, a learned user-ID embedding (KGCN's user vector)

    With ``user_embedding=True`` the learned :math:`e_u` is added to the history-based vector.
    A user with no training history gets the zero vector (plus :math:`e_u` when enabled).

    Args:
        n_users: number of users (for the ID embedding).
        dim: embedding size d.
        mode: one of :data:`mmkg.train.registry.USER_AGGREGATORS`.
        heads: attention heads (``multi-head`` only; must divide ``dim``).
        user_embedding: add a learned user-ID embedding.

    Shapes:
        - users ``[B]``, history ``[B, K_u, d]``, mask ``[B, K_u]`` bool → ``[B, d]``
    """

    def __init__(self, n_users: int, dim: int, mode: str = "multi-head", heads: int = 2,
                 user_embedding: bool = False) -> None:
        super().__init__()
        agg = USER_AGGREGATORS.get(mode)
        self.uses_history = agg.history
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True) if agg.attention else None
        self.embedding = nn.Embedding(n_users, dim) if not agg.history or user_embedding else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.attention is not None:
            self.attention._reset_parameters()
        if self.embedding is not None:
            nn.init.xavier_uniform_(self.embedding.weight)

    def forward(self, users: torch.Tensor, history: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        u = self.embedding(users) if self.embedding is not None else 0.0
        if not self.uses_history:
            return u
        m = mask.unsqueeze(-1).to(history.dtype)                           # [B, K_u, 1]
        if self.attention is not None:
            # a user without history would make every key masked (NaN): unmask slot 0 for them,
            # then drop the result through `m` below
            keys_off = ~mask
            keys_off[:, 0] &= mask.any(1)
            history, _ = self.attention(history, history, history, key_padding_mask=keys_off,
                                        need_weights=False)
        pooled = (history * m).sum(1) / m.sum(1).clamp(min=1.0)
        return pooled + u
