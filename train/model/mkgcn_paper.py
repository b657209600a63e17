"""The paper's MKGCN (``mkgcn-paper``) and KGCN (``kgcn``): multi-modal fusion + user aggregator
+ KGCN item aggregator over a sampled KG tree per (user, item) pair, scored by ``u · v``."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mmkg.errors import TrainError
from mmkg.train.model.base import Recommender
from mmkg.train.model.fusion import MultiModalFusion
from mmkg.train.model.kgconv import KGConv
from mmkg.train.registry import MODELS
from mmkg.train.model.user import UserAggregator


@MODELS.register("mkgcn-paper")
class MKGCNPaper(Recommender):
    r"""MKGCN (Cui et al., Electronics 12(12):2688, 2023); KGCN (Wang et al., WWW 2019) when
    modalities are off and the user vector is a learned embedding.

    .. math::
        h_e = \mathrm{Fuse}(v_e, \{P_k m_e^k\}),\quad u = \mathrm{UserAgg}(\{h_j : j \in
        \mathrm{hist}(u)\}),\quad v_i = \mathrm{KGConv}^{(H)}(h_i, \mathcal{N}(i) \mid u),\quad
        \hat y_{ui} = \sigma(u \cdot v_i)

    In training mode the scored item is left out of the user's history (leave-target-out):
    otherwise every training positive sits in its own user's history, which validation and test
    positives never do. Evaluation (``eval()``) uses the full training history.

    Iteration ``i`` of the ``H`` KGConv layers updates the entities at hops ``0..H-i-1`` of the
    item's sampled tree; hidden layers use ``config.kg.activation``, the last one tanh.

    Args:
        config: the :class:`~mmkg.train.config.ModelConfig`.
        n_users, n_items, n_entities, n_relations: index space sizes (items are entities
            ``0..n_items-1``).
        adj_entity, adj_relation: neighbour tables ``[n_entities, K]`` (see
            :func:`mmkg.train.sampling.neighbour_table`).
        history, history_mask: ``[n_users, K_u]`` training-history table and its mask.
        modalities: ``(values [n_items, D_k], mask [n_items])`` per modality.

    Shapes:
        - forward: users ``[B]``, items ``[B]`` → logits ``[B]``
        - score_all: users ``[B]`` → logits ``[B, n_items]``
    """

    def __init__(self, config, n_users: int, n_items: int, n_entities: int,
                 n_relations: int, adj_entity: torch.Tensor, adj_relation: torch.Tensor,
                 history: torch.Tensor, history_mask: torch.Tensor,
                 modalities: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        super().__init__()
        d, self.hops, self.k = config.dim, config.kg.hops, adj_entity.shape[1]
        self.n_users, self.n_items, self.n_entities = n_users, n_items, n_entities
        self.entity = nn.Embedding(n_entities, d)
        self.relation = nn.Embedding(n_relations, d)
        self.register_buffer("adj_entity", adj_entity)
        self.register_buffer("adj_relation", adj_relation)
        self.register_buffer("history", history)
        self.register_buffer("history_mask", history_mask)
        use = config.modalities and len(modalities) > 0
        self.fusion = MultiModalFusion(d, [v.shape[1] for v, _ in modalities], config.fusion) if use else None
        for k, (values, _) in enumerate(modalities if use else []):
            self.register_buffer(f"modality_{k}", values, persistent=False)
        masks = torch.stack([m for _, m in modalities], 1) if use else torch.zeros(n_items, 0, dtype=torch.bool)
        self.register_buffer("modality_mask", masks, persistent=False)
        self.user_agg = UserAggregator(n_users, d, config.user.aggregator, config.user.heads, config.user.embedding)
        self.convs = nn.ModuleList(
            KGConv(d, config.kg.aggregator, config.kg.activation if i < self.hops - 1 else "tanh")
            for i in range(self.hops)
        )
        self.reset_parameters()

    @classmethod
    def from_data(cls, config, data, rng: np.random.Generator) -> "MKGCNPaper":
        """Build from :class:`mmkg.train.data.TrainData`, sampling neighbour and history tables."""
        from mmkg.train.sampling import history_table, neighbour_table

        if config.kg.hops < 1:
            raise TrainError(f"{config.name} needs kg.hops >= 1 (got {config.kg.hops})")

        adj_e, adj_r = neighbour_table(data.n_entities, data.kg, config.kg.neighbours, data.self_relation, rng)
        hist, hist_mask = history_table(data.n_users, data.train, config.user.history, rng)
        return cls(config, data.n_users, data.n_items, data.n_entities, data.n_relations,
                   adj_e, adj_r, hist, hist_mask, [(m.values, m.mask) for m in data.modalities])

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.entity.weight)
        nn.init.xavier_uniform_(self.relation.weight)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Fused entity vectors ``h_e`` (``[*] -> [*, d]``); entities that are not items have no
        modality, so only their embedding enters the fusion."""
        v = self.entity(ids)
        if self.fusion is None:
            return v
        is_item = ids < self.n_items
        row = torch.where(is_item, ids, torch.zeros_like(ids))
        feats = [getattr(self, f"modality_{k}")[row] for k in range(self.modality_mask.shape[1])]
        return self.fusion(v, feats, self.modality_mask[row] & is_item.unsqueeze(-1))

    def user_vector(self, users: torch.Tensor, leave_out: torch.Tensor | None = None) -> torch.Tensor:
        """``u`` for each user (``[B] -> [B, d]``), from training history only; the items
        ``leave_out [B]`` are masked out of their user's history."""
        if not self.user_agg.uses_history:
            return self.user_agg(users)
        history, mask = self.history[users], self.history_mask[users]
        if leave_out is not None:
            mask = mask & (history != leave_out.unsqueeze(1))
        return self.user_agg(users, self.embed(history), mask)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        b, k = len(items), self.k
        # training: the scored item is left out of the history it would trivially match
        u = self.user_vector(users, items if self.training else None)      # [B, d]
        entities, relations = [items.unsqueeze(1)], []
        for _ in range(self.hops):                                         # [B, K^h]
            relations.append(self.adj_relation[entities[-1]].reshape(b, -1))
            entities.append(self.adj_entity[entities[-1]].reshape(b, -1))
        vecs = [self.embed(e) for e in entities]
        for i, conv in enumerate(self.convs):
            vecs = [conv(vecs[h], vecs[h + 1].reshape(b, -1, k, vecs[h].shape[-1]),
                         relations[h].reshape(b, -1, k), self.relation.weight, u)
                    for h in range(self.hops - i)]
        return (u * vecs[0][:, 0]).sum(-1)

    def _receptive_sets(self) -> list[torch.Tensor]:
        """``S_0 = items``, ``S_h = S_{h-1} ∪ N(S_{h-1})``: the entities updated by each iteration."""
        sets = [torch.arange(self.n_items)]
        for _ in range(self.hops - 1):
            sets.append(torch.unique(torch.cat([sets[-1], self.adj_entity[sets[-1]].reshape(-1)])))
        return sets

    def score_all(self, users: torch.Tensor, max_elements: int = 2 ** 25) -> torch.Tensor:
        """All items for each user, computed per *entity* rather than per tree path (an entity's
        update depends only on the entity and the user), in user chunks of bounded memory."""
        base = self.embed(torch.arange(self.n_entities))                  # [E, d] user-independent
        sets = self._receptive_sets()
        d = base.shape[-1]
        # per user: [n, K] attention at every iteration, [n, K, d] neighbours after the first
        per_user = max([len(sets[-1]) * (self.k + d)] + [len(s) * self.k * d for s in sets[:-1]])
        chunk = max(1, max_elements // per_user)
        out = []
        for start in range(0, len(users), chunk):
            ub = users[start:start + chunk]
            u = self.user_vector(ub)
            table, pos = base, torch.arange(self.n_entities)              # table rows ↔ pos[entity]
            for i, conv in enumerate(self.convs):
                s = sets[self.hops - i - 1]
                nb, rel = pos[self.adj_entity[s]], self.adj_relation[s]
                if table.dim() == 2:
                    table = conv(table[pos[s]], table[nb], rel, self.relation.weight, u)
                else:
                    table = conv(table[:, pos[s]], table[:, nb], rel, self.relation.weight, u)
                pos = torch.full((self.n_entities,), -1, dtype=torch.long)
                pos[s] = torch.arange(len(s))
            out.append(torch.einsum("bd,bnd->bn", u, table))              # table rows = items
        return torch.cat(out)

    @torch.no_grad()
    def get_embedding(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Fused item vectors ``h_i`` (user-independent) and user vectors ``u``."""
        return self.embed(torch.arange(self.n_items)), self.user_vector(torch.arange(self.n_users))


@MODELS.register("kgcn")
class KGCN(MKGCNPaper):
    """KGCN (Wang et al., WWW 2019): :class:`MKGCNPaper` without modalities, with a learned
    user-ID embedding as the user vector."""

    @classmethod
    def from_data(cls, config, data, rng: np.random.Generator) -> "KGCN":
        user = config.user.model_copy(update={"aggregator": "embedding"})
        return super().from_data(config.model_copy(update={"modalities": False, "user": user}), data, rng)
