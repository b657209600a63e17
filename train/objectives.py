"""Training objectives: pointwise BCE, pairwise BPR and sampled softmax, behind one registry.

Every objective sees the logits of a batch's positives ``pos [B]`` and of their candidate
negatives ``neg [B, n]`` with a mask ``valid [B, n]`` (False where the "negative" is in fact one
of the user's training positives, or the positive itself, as in-batch sampling produces); masked
entries never enter the loss.

- ``bce`` (MKGCN / KGCN paper): :math:`-\\log\\sigma(s^+) - \\sum_j \\log(1-\\sigma(s^-_j))`,
  averaged over all valid logits.
- ``bpr`` (Rendle et al. 2009): :math:`-\\log\\sigma(s^+ - s^-_j)`, averaged over valid pairs.
- ``softmax`` (sampled softmax): :math:`-\\log \\frac{e^{s^+/\\tau}}{e^{s^+/\\tau} +
  \\sum_j e^{s^-_j/\\tau}}`, averaged over positives. With ``log_q`` (the log-probability that
  the sampler proposes each candidate) the logits are corrected to :math:`s - \\tau\\log q`
  before the division (Yi et al., RecSys 2019), which removes the bias of popularity-weighted
  or in-batch negatives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from mmkg.train.registry import LOSSES

Loss = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class Candidates:
    """The logits one training step scores.

    Attributes:
        pos: ``[B]`` logits of the positives.
        neg: ``[B, n]`` logits of the negatives.
        valid: ``[B, n]`` bool, False where a negative must be ignored.
        log_q_pos, log_q_neg: ``[B]`` / ``[B, n]`` log sampling probabilities (or None).
    """

    pos: torch.Tensor
    neg: torch.Tensor
    valid: torch.Tensor
    log_q_pos: torch.Tensor | None = None
    log_q_neg: torch.Tensor | None = None


@LOSSES.register("bce")
def bce(c: Candidates, temperature: float = 1.0) -> torch.Tensor:
    pos_term = F.softplus(-c.pos).sum()
    neg_term = (F.softplus(c.neg) * c.valid).sum()
    return (pos_term + neg_term) / (len(c.pos) + c.valid.sum())


@LOSSES.register("bpr")
def bpr(c: Candidates, temperature: float = 1.0) -> torch.Tensor:
    diff = F.softplus(-(c.pos.unsqueeze(1) - c.neg) / temperature)
    return (diff * c.valid).sum() / c.valid.sum().clamp(min=1)


UNDERFLOW = -80.0
"""Floor of ``logit - row maximum`` before ``exp`` in ``softmax``: below it a candidate's share is
under ``e^-80 ≈ 1.8e-35`` of the largest one's, beyond float32's resolution of a sum that holds
that largest share (1), so the loss is unchanged; ``exp`` of values that underflow takes a slow
path on x86 (~8× slower, most of a 10M-listen step's loss at τ = 0.1). The ceiling 0 only
meets masked candidates (the maximum is over the others), whose share is then 0, not ``inf``."""


@LOSSES.register("softmax")
def softmax(c: Candidates, temperature: float = 1.0) -> torch.Tensor:
    pos, neg = c.pos, c.neg
    if c.log_q_neg is not None:
        neg = neg - temperature * c.log_q_neg
    if c.log_q_pos is not None:
        pos = pos - temperature * c.log_q_pos
    logits = torch.cat([pos.unsqueeze(1), neg], 1) / temperature
    masked = torch.cat([torch.zeros_like(c.valid[:, :1]), ~c.valid], 1)
    top = logits.detach().masked_fill(masked, float("-inf")).amax(1, keepdim=True)
    shares = torch.exp((logits - top).clamp(UNDERFLOW, 0.0)).masked_fill(masked, 0.0)
    return (torch.log(shares.sum(1)) + top.squeeze(1) - logits[:, 0]).mean()
