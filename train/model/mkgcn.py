"""MKGCN, the ranking model: multi-modal fusion → relation-aware KG aggregation → propagation
over the user–item training graph, scored by one dot product of final vectors."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mmkg.train.model.base import VectorRecommender, objective_loss, vector_logits
from mmkg.train.model.fusion import MultiModalFusion
from mmkg.train.model.kg_aggregator import RelationalKGAggregator
from mmkg.train.model.lightgcn import normalized_adjacency, propagate_layers
from mmkg.train.registry import MODELS
from mmkg.train.sampling import Negatives


@MODELS.register("mkgcn")
class MKGCN(VectorRecommender):
    r"""MKGCN's three aggregators arranged to rank, with scoring by vectors:

    .. math::
        h_i^{(0)} &= \mathrm{Fuse}(v_i, \{P_k m_i^k\})  &&\text{multi-modal aggregator (items)}\\
        x_e &= \mathrm{KG}(h^{(0)})_e  &&\text{relation-aware KG aggregator (all entities)}\\
        [U; I] &= \tfrac{1}{L+1}\textstyle\sum_{l=0}^{L} \hat A^l [e_u ; x_i]
            &&\text{user/collaborative aggregator (training graph)}\\
        s(u, i) &= \langle U_u, I_i \rangle

    **ID dropout** (``id_dropout`` = p > 0): :math:`v_i` becomes :math:`\delta_i v_i` with
    :math:`\delta_i \sim \mathrm{Bernoulli}(1 - p)` drawn per item and training step (from the
    epoch's generator, :attr:`step_generator`: the same on every worker, and a resumed run draws
    what an uninterrupted one would). In evaluation :math:`\delta_i = 1`, except for items
    without a training interaction (new tracks, whose ID never received a signal):
    :math:`\delta_i = 0` always, and their final vector is :math:`I_i = x_i` — they have no
    collaborative layer, so the mean over layers runs over the one they have instead of shrinking
    :math:`x_i` by :math:`1/(L+1)` with :math:`L` empty layers. The training loss scores the
    step's candidates twice from one propagation: once with the final vectors :math:`I`, once with
    :math:`\tilde I_i = x_i` for the items whose ID the step dropped (:math:`I_i` for the others),
    :math:`\mathcal L = \mathcal L(U, I) + \mathcal L_\alpha(U, \tilde I) + \lambda\,\Omega`, so the
    path that places a new track — fusion of content and KG, no ID, no collaborative layer — is
    itself trained on every step, and the collaborative path keeps its full signal (chosen on
    validation of ``bench/cold_start.py`` and ``bench/lastfm.py`` over the first term alone and
    over the second alone: BENCHMARKS.md, "Cold start"). :math:`\mathcal L_\alpha`
    (``new_track_balance`` = α, default 0: every positive) averages over the step's positives of the tracks kept with
    probability :math:`n_i^{-\alpha}` (:math:`n_i` training listens; one draw per track and
    step): positives come in proportion to popularity, so unbalanced the new-track path also
    learns which tracks are popular, which helps where content and KG foretell popularity
    (Last.FM) and hurts where they do not (the popularity-skewed synthetic catalogs).

    **Empty items** (``kg.hop_mean_if_empty``, ``mkgcn``'s default): an item whose
    :math:`h_i^{(0)}` carries nothing of its own — no ID this step, no media — has nothing for the
    KG aggregator's degree gate to keep, so :math:`x_i = \frac1H \sum_{l=1}^{H} h_i^{(l)}`, its
    KG neighbourhood's vector whole, instead of the gated mix with zeros
    (:class:`~mmkg.train.model.kg_aggregator.RelationalKGAggregator`).

    The user aggregator of the paper (attention over a sampled history) becomes propagation over
    the training interactions, which aggregates *every* history item, and the item aggregator's
    user-conditioned relation attention (one KG tree per (user, item) pair) becomes a
    user-independent relational aggregation, so one pass yields every final vector and
    full-catalog scoring is one matrix product. The faithful architecture is ``mkgcn-paper``.

    Args:
        config: the :class:`~mmkg.train.config.ModelConfig` (``dim``, ``kg.hops`` = H,
            ``kg.gate``, ``kg.hop_mean_if_empty``, ``layers`` = L, ``modalities``, ``fusion``,
            ``id_dropout`` = p).
        n_users, n_items, n_entities, n_relations: index space sizes (items are entities
            ``0..n_items-1``).
        kg: ``[n_edges, 3]`` triples, both directions.
        train: ``[n, 2]`` training (user, item) pairs: the only interactions it ever sees.
        modalities: ``(values [n_items, D_k], mask [n_items])`` per modality.
    """

    id_tables = {"user.weight": "user", "entity.weight": "entity", "relation.weight": "relation"}

    def __init__(self, config, n_users: int, n_items: int, n_entities: int, n_relations: int,
                 kg: np.ndarray, train: np.ndarray,
                 modalities: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        super().__init__()
        d = config.dim
        self.n_users, self.n_items, self.n_entities, self.layers = n_users, n_items, n_entities, config.layers
        self.user = nn.Embedding(n_users, d)
        self.entity = nn.Embedding(n_entities, d)
        self.relation = nn.Embedding(n_relations, d)
        use = config.modalities and len(modalities) > 0
        self.fusion = MultiModalFusion(d, [v.shape[1] for v, _ in modalities], config.fusion) if use else None
        self.n_modalities = len(modalities) if use else 0
        for k, (values, _) in enumerate(modalities if use else []):
            self.register_buffer(f"modality_{k}", values, persistent=False)
        masks = torch.stack([m for _, m in modalities], 1) if use else torch.zeros(n_items, 0, dtype=torch.bool)
        self.register_buffer("modality_mask", masks, persistent=False)
        self.register_buffer("no_media", ~masks.any(1), persistent=False)
        self.kg = RelationalKGAggregator(kg, n_entities, config.kg.hops, config.kg.gate)
        self.hop_mean_if_empty = config.kg.hop_mean_if_empty
        self.register_buffer("adj", normalized_adjacency(n_users, n_items, train), persistent=False)
        self.id_dropout = config.id_dropout
        listens = torch.bincount(torch.as_tensor(train[:, 1], dtype=torch.long), minlength=n_items)
        self.register_buffer("no_id", (listens == 0) & (self.id_dropout > 0), persistent=False)
        self.new_track_balance = config.new_track_balance
        share = listens.clamp(min=1).double().pow(-self.new_track_balance).float()    # n_i^-α
        self.register_buffer("new_track_share", share, persistent=False)
        nn.init.normal_(self.user.weight, std=0.1)
        nn.init.normal_(self.entity.weight, std=0.1)
        nn.init.normal_(self.relation.weight, mean=1.0, std=0.1)           # starts near r ⊙ h = h

    @classmethod
    def from_data(cls, config, data, rng: np.random.Generator) -> "MKGCN":
        """Build from :class:`mmkg.train.data.TrainData` (training interactions only)."""
        return cls(config, data.n_users, data.n_items, data.n_entities, data.n_relations, data.kg,
                   data.train, [(m.values, m.mask) for m in data.modalities])

    def item_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer-0 entity vectors: items (their ID embedding dropped as ``id_dropout`` says)
        fused with their modalities, other entities as learned; and which items kept their ID."""
        h = self.entity.weight
        keep = ~self.no_id
        if self.training and self.id_dropout > 0:
            draw = torch.rand(self.n_items, generator=self.step_generator).to(h.device)
            keep = keep & (draw >= self.id_dropout)
        v = h[: self.n_items] * keep.unsqueeze(1).to(h.dtype)                 # [n_items, d]
        if self.fusion is not None:
            feats = [getattr(self, f"modality_{k}") for k in range(self.n_modalities)]
            v = self.fusion(v, feats, self.modality_mask)
        return torch.cat([v, h[self.n_items:]]), keep

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        users, items, _ = self.propagate_with_alone()
        return users, items

    def propagate_with_alone(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``U``, ``I`` and ``Ĩ`` (``I`` with the items whose ID this step dropped scored by
        ``x_i`` alone) of one propagation."""
        inputs, keep = self.item_inputs()
        x = self.kg(inputs, self.relation.weight, self.empty_entities(keep))[: self.n_items]
        out = propagate_layers(self.adj, torch.cat([self.user.weight, x]), self.layers)
        users, final = out.split([self.n_users, self.n_items])             # one gradient copy, not one per slice
        items = torch.where(self.no_id.unsqueeze(1), x, final)
        alone = torch.where(keep.unsqueeze(1), final, x)
        return users, items, alone

    def empty_entities(self, keep: torch.Tensor) -> torch.Tensor | None:
        """``[n_entities]`` bool: the items whose layer 0 carries nothing of their own (no ID in
        ``keep``, no modality), which take their KG hop mean (``kg.hop_mean_if_empty``; None: off)."""
        if not self.hop_mean_if_empty:
            return None
        empty = ~keep & self.no_media
        return torch.cat([empty, empty.new_zeros(self.n_entities - self.n_items)])

    def loss(self, users: torch.Tensor, pos: torch.Tensor, negatives: Negatives, objective: str,
             l2: float, temperature: float = 1.0) -> torch.Tensor:
        """The objective over ``I`` plus the L2 term, plus (training with ID dropout) the same
        objective over ``Ĩ`` for the positives :meth:`new_track_rows` keeps."""
        if not (self.training and self.id_dropout > 0):
            return super().loss(users, pos, negatives, objective, l2, temperature)
        u, items, alone = self.propagate_with_alone()
        loss = (objective_loss(*vector_logits(u, items, users, pos, negatives.items), negatives, objective,
                               temperature) + l2 * self.regularizer(users, pos, negatives.items))
        rows = self.new_track_rows(pos)
        if rows.any():
            kept = negatives.rows(rows)
            loss = loss + objective_loss(*vector_logits(u, alone, users[rows], pos[rows], kept.items), kept,
                                         objective, temperature)
        return loss

    def new_track_rows(self, pos: torch.Tensor) -> torch.Tensor:
        """``[B]`` bool: the positives that the new-track term :math:`\mathcal L_\alpha` keeps,
        track i with probability :math:`n_i^{-\alpha}` (one draw per track from
        :attr:`step_generator`, so every worker draws the same)."""
        if not self.new_track_balance:
            return torch.ones_like(pos, dtype=torch.bool)
        draw = torch.rand(self.n_items, generator=self.step_generator).to(pos.device)
        return (draw < self.new_track_share)[pos]

    def ego(self, users: torch.Tensor, items: torch.Tensor) -> list[torch.Tensor]:
        return [self.user(users), self.entity(items)]
