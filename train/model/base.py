"""What every recommender of mmkg exposes to training, evaluation and publish."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Recommender(nn.Module):
    """Base class: ``forward(users, items) -> logits``, ``score_all``, ``recommend``, ``loss``,
    ``get_embedding``. Scores are logits; ``sigmoid(logit)`` is the click probability."""

    n_items: int

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits ``[B]`` of the pairs ``(users[b], items[b])``."""
        raise NotImplementedError

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, n_items]`` of every item for each user (same values as :meth:`forward`)."""
        raise NotImplementedError

    def get_embedding(self) -> tuple[torch.Tensor, torch.Tensor]:
        """User-independent item vectors ``[n_items, d]`` and user vectors ``[n_users, d]``."""
        raise NotImplementedError

    @property
    def trainable(self) -> bool:
        return any(p.requires_grad for p in self.parameters())

    def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, l2: float) -> torch.Tensor:
        """Binary cross-entropy over positives ``(users, pos)`` (label 1) and negatives
        ``(users, neg[:, j])`` (label 0), plus ``l2 · Σ_p ‖p‖² / 2`` over all parameters.

        Shapes: users ``[B]``, pos ``[B]``, neg ``[B, ratio]``.
        """
        ratio = neg.shape[1]
        logits = self(torch.cat([users, users.repeat_interleave(ratio)]), torch.cat([pos, neg.reshape(-1)]))
        labels = torch.cat([torch.ones(len(pos)), torch.zeros(neg.numel())])
        return F.binary_cross_entropy_with_logits(logits, labels) + l2 * self.l2_penalty()

    def l2_penalty(self) -> torch.Tensor:
        return sum((p.pow(2).sum() for p in self.parameters()), torch.tensor(0.0)) / 2

    @torch.no_grad()
    def recommend(self, users: torch.Tensor, k: int, exclude: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact top-``k`` items per user, never an item where ``exclude [B, n_items]`` is True.

        Returns ``(items [B, k] int64, logits [B, k])``, best first.
        """
        scores = self.score_all(users)
        if exclude is not None:
            scores = scores.masked_fill(exclude, float("-inf"))
        top = torch.topk(scores, min(k, self.n_items), dim=1)
        return top.indices, top.values
