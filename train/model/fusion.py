"""The multi-modal aggregator of MKGCN: fuse an entity's embedding with its modality vectors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from mmkg.train.registry import FUSIONS

Fuse = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""``(v [*, d], projected [*, M, d] zeroed where missing, mask [*, M, 1] float) -> x``."""


def _mean(v: torch.Tensor, projected: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (v + projected.sum(-2)) / (1.0 + m.sum(-2))                # over v_e and present ones


def _max(v: torch.Tensor, projected: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    filler = torch.finfo(v.dtype).min
    return torch.cat([v.unsqueeze(-2), projected.masked_fill(m == 0, filler)], -2).amax(-2)


@dataclass(frozen=True)
class Fusion:
    """One fusion variant: how to combine, and whether ``tanh(W x + b)`` follows (the paper's
    family) or ``x`` is the output (``add``, whose projections start near zero so that training
    begins from the plain embedding)."""

    combine: Fuse
    squash: bool = True


for name, fusion in {
    "residual": Fusion(lambda v, p, m: v + _mean(v, p, m)),
    "mean": Fusion(_mean),
    "sum": Fusion(lambda v, p, m: v + p.sum(-2)),
    "max": Fusion(_max),
    "concat": Fusion(lambda v, p, m: torch.cat([v, _mean(v, p, m)], -1)),
    "add": Fusion(lambda v, p, m: v + p.sum(-2) / m.sum(-2).clamp(min=1.0), squash=False),
}.items():
    FUSIONS.add(name, fusion)
ADD_INIT_STD = 0.01
"""Initial std of the projections of ``add`` (the embeddings start at std 0.1)."""


class MultiModalFusion(nn.Module):
    r"""Fuse an entity embedding :math:`v_e` with its projected modality vectors :math:`P_k m_e^k`.

    With :math:`S_e = \{v_e\} \cup \{P_k m_e^k : k \text{ present for } e\}` (missing modalities
    are masked out, never averaged in as zeros):

    - ``residual``: :math:`h_e = \tanh(W (v_e + \mathrm{mean}(S_e)) + b)` (MKGCN's default)
    - ``mean``: :math:`\tanh(W\,\mathrm{mean}(S_e) + b)`
    - ``sum``: :math:`\tanh(W (v_e + \sum_{k\ present} P_k m_e^k) + b)`
    - ``max``: :math:`\tanh(W \max(S_e) + b)` (elementwise)
    - ``concat``: :math:`\tanh(W [v_e ; \mathrm{mean}(S_e)] + b)`
    - ``add``: :math:`h_e = v_e + \mathrm{mean}_{k\ present} P_k m_e^k` (no squashing; the
      default of the ranking MKGCN, whose item vectors are then propagated linearly)

    Args:
        dim: embedding size d.
        modality_dims: raw dimension of each modality; each gets its own learned ``P_k``.
        mode: one of :data:`mmkg.train.registry.FUSIONS`.

    Shapes:
        - v: ``[*, d]``; feats: list of ``[*, D_k]``; mask: ``[*, M]`` bool → ``[*, d]``
    """

    def __init__(self, dim: int, modality_dims: list[int], mode: str = "residual") -> None:
        super().__init__()
        self.dim, self.mode, self.fusion = dim, mode, FUSIONS.get(mode)
        self.projections = nn.ModuleList(nn.Linear(d_k, dim, bias=False) for d_k in modality_dims)
        self.out = nn.Linear(2 * dim if mode == "concat" else dim, dim) if self.fusion.squash else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for p in self.projections:
            if self.fusion.squash:
                nn.init.xavier_uniform_(p.weight)
            else:
                nn.init.normal_(p.weight, std=ADD_INIT_STD)
        if self.out is not None:
            nn.init.xavier_uniform_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, v: torch.Tensor, feats: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        # projected: [*, M, d], zeroed where missing so no garbage leaks through sums
        m = mask.unsqueeze(-1).to(v.dtype)
        projected = torch.stack([p(f) for p, f in zip(self.projections, feats)], -2) * m
        x = self.fusion.combine(v, projected, m)
        return torch.tanh(self.out(x)) if self.out is not None else x
