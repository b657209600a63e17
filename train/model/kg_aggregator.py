"""MKGCN's relation-aware aggregation over the whole knowledge graph, as sparse products."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mmkg.train.model.sparse import csr, csr_matmul


class _RelationalHop(torch.autograd.Function):
    r"""One hop :math:`y_e = \sum_{(r, t) \in N(e)} \frac{1}{|N(e)|}\, r \odot x_t` as
    :math:`Y = S x` (one row per (entity, relation) pair :math:`p`, the mean weights in
    :math:`S`), the relation applied to each pair's contiguous block of rows, and
    :math:`y = H (Y \odot R_{rel(p)})` (:math:`H`: pair → its entity). Backward:
    :math:`g_Y = H^\top g \odot R`, :math:`g_x = S^\top g_Y`,
    :math:`g_{R_r} = \sum_{p \in r} (H^\top g)_p \odot Y_p`."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, relations: torch.Tensor, agg: "RelationalKGAggregator") -> torch.Tensor:
        pairs = csr_matmul(agg.pairs_from_tails, x)                        # Y [P, d]
        scaled = torch.empty_like(pairs)
        for r, (lo, hi) in agg.relation_blocks:
            torch.mul(pairs[lo:hi], relations[r], out=scaled[lo:hi])
        ctx.agg = agg
        ctx.save_for_backward(pairs, relations)
        return csr_matmul(agg.heads_from_pairs, scaled)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        agg = ctx.agg
        pairs, relations = ctx.saved_tensors
        at_pairs = grad.contiguous()[agg.pair_head]                           # H^T g [P, d]
        grad_relations = torch.zeros_like(relations)
        for r, (lo, hi) in agg.relation_blocks:
            grad_relations[r] = (at_pairs[lo:hi] * pairs[lo:hi]).sum(0)
            at_pairs[lo:hi] *= relations[r]
        return csr_matmul(agg.tails_from_pairs, at_pairs), grad_relations, None


class RelationalKGAggregator(nn.Module):
    r"""User-independent, relation-aware aggregation over the **whole** knowledge graph (every
    edge, both directions; no sampling):

    .. math::
        h_e^{(l+1)} = \frac{1}{|N(e)|} \sum_{(r, t) \in N(e)} r \odot h_t^{(l)}, \qquad
        \mathrm{KG}(h)_e = \frac{h_e^{(0)} + g_e \sum_{l=1}^{H} h_e^{(l)}}{1 + g_e H}, \qquad
        g_e = \frac{|N(e)|}{|N(e)| + c}, \qquad
        \mathrm{KG}(h)_e = \frac{1}{H} \sum_{l=1}^{H} h_e^{(l)} \ \text{if } e \text{ is empty}

    (the relational message of KGIN, Wang et al. WWW 2021). Each entity's vector mixes those of
    the entities it shares artists, genres, tags or KG facts with, so items close in the KG start
    close. Isolated entities keep :math:`h^{(0)}`. The *degree gate* c (``gate``; 0 gives
    :math:`g_e = 1`: the mean over the H + 1 layers) lets an entity with few KG facts keep more of
    its own vector: with c = 1, ``mkgcn``'s default, one neighbour weighs 1/2, four 4/5. An
    entity the caller flags *empty* (``forward``'s ``empty``: an item whose layer 0 carries nothing
    of its own, no ID and no media) has nothing to keep, so it takes the mean of its hops instead
    of shrinking them towards its empty layer 0 by :math:`g_e H / (1 + g_e H)`. Computed
    as sparse products over the (entity, relation) pairs of the KG (:class:`_RelationalHop`): no
    ``[edges, d]`` message tensor, cost ``O(H · (|edges| + |pairs|) · d)`` per call, on every torch
    thread.

    Args:
        kg: int64 ``[n_edges, 3]`` (head, relation, tail), both directions.
        n_entities: size of the entity index space.
        hops: H (0: the identity).
        gate: c ≥ 0, the degree gate (0: off).

    Shapes:
        - h ``[n_entities, d]``, relations ``[R, d]`` → ``[n_entities, d]``
    """

    def __init__(self, kg: np.ndarray, n_entities: int, hops: int, gate: float = 0.0) -> None:
        super().__init__()
        self.hops = hops
        kg = torch.as_tensor(np.asarray(kg, dtype=np.int64).reshape(-1, 3))
        head, rel, tail = kg[:, 0], kg[:, 1], kg[:, 2]
        degree = torch.bincount(head, minlength=n_entities).float()
        n_relations = int(rel.max()) + 1 if len(kg) else 0
        # pairs (relation, head) in relation-major order: each relation's rows are one block
        pair_key, pair_of_edge = torch.unique(rel * n_entities + head, return_inverse=True)
        pair_rel, pair_head = pair_key // n_entities, pair_key % n_entities
        n_pairs = len(pair_key)
        counts = torch.bincount(pair_rel, minlength=n_relations)
        ends = counts.cumsum(0)
        self.relation_blocks = [(r, (int(ends[r] - counts[r]), int(ends[r])))
                                for r in range(n_relations) if counts[r] > 0]
        weight = 1.0 / degree.clamp(min=1)[head]
        self.register_buffer("pair_head", pair_head, persistent=False)
        self.register_buffer("pairs_from_tails", csr(pair_of_edge, tail, weight, (n_pairs, n_entities)),
                             persistent=False)
        self.register_buffer("tails_from_pairs", csr(tail, pair_of_edge, weight, (n_entities, n_pairs)),
                             persistent=False)
        ones = torch.ones(n_pairs)
        self.register_buffer("heads_from_pairs", csr(pair_head, torch.arange(n_pairs), ones,
                                                      (n_entities, n_pairs)), persistent=False)
        self.register_buffer("isolated", (degree == 0).unsqueeze(1), persistent=False)
        known = degree.clamp(min=1)                                      # isolated: h^(l) = h^(0) whatever g
        self.register_buffer("hop_weight", (known / (known + gate)).unsqueeze(1), persistent=False)  # g_e

    def forward(self, h: torch.Tensor, relations: torch.Tensor,
                empty: torch.Tensor | None = None) -> torch.Tensor:
        """``KG(h)``; rows flagged in ``empty`` (``[n_entities]`` bool) take the hop mean instead."""
        keep_hops = empty is not None and self.hops > 0 and bool(empty.any())
        out, x, hop_sum = h, h, torch.zeros_like(h) if keep_hops else None
        for _ in range(self.hops):
            x = torch.where(self.isolated, h, _RelationalHop.apply(x, relations, self))
            out = out + self.hop_weight * x
            if hop_sum is not None:
                hop_sum = hop_sum + x
        out = out / (1 + self.hop_weight * self.hops)
        if hop_sum is None:
            return out
        return torch.where(empty.unsqueeze(1), hop_sum / self.hops, out)
