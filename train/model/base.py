"""What every recommender of mmkg exposes to training, evaluation and publish.

Two kinds:

- :class:`Recommender`: any ``forward(users, items) -> logits`` model (the paper's MKGCN, whose
  item vector depends on the user, is one); training scores candidates pair by pair.
- :class:`VectorRecommender`: the score is one dot product of a final user vector and a final
  item vector, :math:`s(u, i) = \\langle u, i \\rangle`, so scoring every item for many users is
  one matrix product, and publish writes exactly the vectors that score.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from mmkg.train.objectives import Candidates
from mmkg.train.registry import LOSSES
from mmkg.train.sampling import Negatives


TIE_SEED = 0
"""Seed of :func:`tie_order`."""


@lru_cache(maxsize=4)
def tie_order(n_items: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(order, position)``: a permutation of the items drawn with :data:`TIE_SEED` and its
    inverse (``order[position[i]] == i``). Every ranking scores the items in this order and lists
    equal scores by position (:func:`top_k`), so that tracks with equal scores (a heuristic's
    counts, zeros; new tracks with the same KG facts) come out in one seeded order that does not
    depend on the catalog's, whatever the ranking's depth."""
    order = torch.randperm(n_items, generator=torch.Generator().manual_seed(TIE_SEED))
    position = torch.empty_like(order)
    position[order] = torch.arange(n_items)
    return order, position


def top_k(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(values, columns)`` ``[B, min(k, n)]``: the first ``k`` entries of each row of ``scores``
    ``[B, n]`` sorted by (score descending, column ascending), so equal scores come in column order
    and the result is the same prefix whatever ``k`` (``torch.topk`` alone picks among equal
    scores at its cut by a rule that changes with ``k``). Past a row's finite scores the ``-inf``
    entries come in no set order."""
    n = scores.shape[1]
    k = min(k, n)
    wide = torch.topk(scores, min(k + 1, n), dim=1)                 # one more: do equal scores straddle the cut?
    by_column = wide.indices.argsort(dim=1)
    values, columns = wide.values.gather(1, by_column), wide.indices.gather(1, by_column)
    best = values.sort(dim=1, descending=True, stable=True).indices[:, :k]
    values, columns = values.gather(1, best), columns.gather(1, best)
    if k == n:
        return values, columns
    cut = wide.values[:, k - 1]
    split = (wide.values[:, k] == cut) & torch.isfinite(cut)
    if split.any():                                                  # take the lowest columns of the tied scores
        rows = split.nonzero().flatten()
        row_scores, row_cut = scores[rows], cut[rows].unsqueeze(1)
        tied = row_scores == row_cut
        need = k - (row_scores > row_cut).sum(1, keepdim=True)
        keep = (row_scores > row_cut) | (tied & (tied.cumsum(1) <= need))
        kept = keep.nonzero()[:, 1].view(len(rows), k)               # ascending columns per row
        kept_values = row_scores.gather(1, kept)
        order = kept_values.sort(dim=1, descending=True, stable=True).indices
        values[rows], columns[rows] = kept_values.gather(1, order), kept.gather(1, order)
    return values, columns


class Recommender(nn.Module):
    """Base class: ``forward(users, items) -> logits``, ``score_all``, ``recommend``, ``loss``,
    ``get_embedding``. Scores are logits; ``sigmoid(logit)`` is the click probability for models
    trained with ``bce``, and only an order for the others."""

    n_items: int
    step_generator: torch.Generator | None = None
    """Where a training step draws its own randomness (MKGCN's ID dropout): the epoch's generator,
    set by :func:`mmkg.train.fit.train_one_epoch`, so that every worker draws the same and a
    resumed run draws what an uninterrupted one would."""
    id_tables: dict[str, str] | None = None
    """Parameters whose rows are ids → which ids (``user``, ``item``, ``entity``, ``relation``:
    :func:`mmkg.train.warm_start.row_keys`), for ``mmkg train --init-from`` to match rows by id;
    None: the model cannot warm-start."""

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits ``[B]`` of the pairs ``(users[b], items[b])``."""
        raise NotImplementedError

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, n_items]`` of every item for each user (same values as :meth:`forward`)."""
        raise NotImplementedError

    def score_tie_ordered(self, users: torch.Tensor) -> torch.Tensor:
        """:meth:`score_all` with its columns in :func:`tie_order`: column ``j`` holds item
        ``order[j]``. What every ranking calls."""
        return self.score_all(users).index_select(1, tie_order(self.n_items)[0])

    def get_embedding(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Item vectors ``[n_items, d]`` and user vectors ``[n_users, d]``."""
        raise NotImplementedError

    @property
    def trainable(self) -> bool:
        return any(p.requires_grad for p in self.parameters())

    def pair_logits(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits of the positives ``[B]`` and of the negatives ``[B, n]`` (``neg`` is ``[B, n]``
        per positive, or ``[N]`` shared by the batch)."""
        b = len(users)
        neg = neg.expand(b, -1) if neg.dim() == 1 else neg
        n = neg.shape[1]
        logits = self(torch.cat([users, users.repeat_interleave(n)]), torch.cat([pos, neg.reshape(-1)]))
        return logits[:b], logits[b:].view(b, n)

    def regularizer(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """The L2 term: ``Σ_p ‖p‖² / 2`` over all parameters (KGCN's)."""
        return sum((p.pow(2).sum() for p in self.parameters()), torch.tensor(0.0)) / 2

    def loss(self, users: torch.Tensor, pos: torch.Tensor, negatives: Negatives, objective: str,
             l2: float, temperature: float = 1.0) -> torch.Tensor:
        """``LOSSES.get(objective)`` over the batch's candidates plus ``l2 · regularizer``.

        Shapes: users ``[B]``, pos ``[B]``, ``negatives.items`` ``[B, n]`` or ``[N]``.
        """
        s_pos, s_neg = self.pair_logits(users, pos, negatives.items)
        return (objective_loss(s_pos, s_neg, negatives, objective, temperature)
                + l2 * self.regularizer(users, pos, negatives.items))

    @torch.no_grad()
    def recommend(self, users: torch.Tensor, k: int, exclude: tuple[torch.Tensor, torch.Tensor] | None = None,
                  candidates: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact top-``k`` items per user among ``candidates`` (bool ``[n_items]``; None: all),
        never item ``items[j]`` for row ``rows[j]`` of ``exclude = (rows, items)``; equal scores in
        :func:`tie_order` (:func:`top_k`).

        Returns ``(items [B, k] int64, logits [B, k])``, best first; ``-inf`` logits past a row's
        rankable items.
        """
        order, position = tie_order(self.n_items)
        scores = self.score_tie_ordered(users)
        if candidates is not None:
            scores[:, position[~candidates]] = float("-inf")
        if exclude is not None:
            scores[exclude[0], position[exclude[1]]] = float("-inf")
        values, positions = top_k(scores, k)
        return order[positions], values


class VectorRecommender(Recommender):
    """A recommender scored by :math:`s(u, i) = \\langle U_u, I_i \\rangle` of final vectors.

    Subclasses implement :meth:`propagate` (all final vectors, differentiable) and
    :meth:`ego` (the layer-0 parameters that the L2 term of a batch covers). In evaluation mode
    the final vectors are computed once and cached until the next :meth:`train` or
    :meth:`load_state_dict`.
    """

    n_users: int
    _cache: tuple[torch.Tensor, torch.Tensor] | None = None
    _tie_ordered: torch.Tensor | None = None

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final vectors ``(U [n_users, d], I [n_items, d])``."""
        raise NotImplementedError

    def ego(self, users: torch.Tensor, items: torch.Tensor) -> list[torch.Tensor]:
        """Layer-0 parameter rows of a batch (for the L2 term)."""
        raise NotImplementedError

    def vectors(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training or torch.is_grad_enabled():
            return self.propagate()
        if self._cache is None:
            self._cache = self.propagate()
        return self._cache

    def train(self, mode: bool = True) -> "VectorRecommender":
        self._cache = self._tie_ordered = None
        return super().train(mode)

    def load_state_dict(self, *args, **kwargs):
        self._cache = self._tie_ordered = None
        return super().load_state_dict(*args, **kwargs)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        u, i = self.vectors()
        return (u[users] * i[items]).sum(-1)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        u, i = self.vectors()
        return u[users] @ i.T

    def score_tie_ordered(self, users: torch.Tensor) -> torch.Tensor:
        """One matrix product with the item vectors' rows in :func:`tie_order` (cached with
        :meth:`vectors`): the same values as :meth:`score_all`, without gathering its columns."""
        u, i = self.vectors()
        order = tie_order(self.n_items)[0]
        if self.training or torch.is_grad_enabled():
            return u[users] @ i.index_select(0, order).T
        if self._tie_ordered is None:
            self._tie_ordered = i.index_select(0, order)
        return u[users] @ self._tie_ordered.T

    def pair_logits(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        return vector_logits(*self.vectors(), users, pos, neg)

    def regularizer(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """``Σ ‖e‖² / (2B)`` over the batch's layer-0 user, positive and negative rows (LightGCN's)."""
        rows = self.ego(users, torch.cat([pos, neg.reshape(-1)]))
        return sum(r.pow(2).sum() for r in rows) / (2 * len(users))

    @torch.no_grad()
    def get_embedding(self) -> tuple[torch.Tensor, torch.Tensor]:
        u, i = self.vectors()
        return i, u


def vector_logits(u: torch.Tensor, i: torch.Tensor, users: torch.Tensor, pos: torch.Tensor,
                  neg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``<u[users], i[pos]>`` ``[B]`` and the negatives' logits ``[B, n]`` (``neg`` ``[B, n]`` per
    positive, or ``[N]`` shared by the batch: one matrix product)."""
    eu = u[users]                                                          # [B, d]
    s_pos = (eu * i[pos]).sum(-1)
    if neg.dim() == 1:
        return s_pos, eu @ i[neg].T
    return s_pos, torch.einsum("bd,bnd->bn", eu, i[neg])


def objective_loss(s_pos: torch.Tensor, s_neg: torch.Tensor, negatives: Negatives, objective: str,
                   temperature: float) -> torch.Tensor:
    """``LOSSES.get(objective)`` of the positives' and negatives' logits, with the negatives'
    validity mask and logQ terms."""
    log_q_neg = negatives.log_q_neg
    if log_q_neg is not None and log_q_neg.dim() == 1:
        log_q_neg = log_q_neg.expand_as(s_neg)
    candidates = Candidates(s_pos, s_neg, negatives.valid, negatives.log_q_pos, log_q_neg)
    return LOSSES.get(objective)(candidates, temperature)
