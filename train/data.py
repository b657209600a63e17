"""ExportedGraph → the index spaces and tensors the models train on.

Entity index space: every node whose label is in :data:`mmkg.schema.KG_LABELS` and present in the
graph, Tracks first (so item ``i`` is entity ``i``), then the other labels in ``KG_LABELS`` order.
Relation index space: ``ExportedGraph.relations`` (ids ``0..R-1``). The KG is treated as undirected
by adding every edge reversed **with the same relation id** (as KGCN does: ``PERFORMED_BY`` read
from either end is one relation); id ``R`` is reserved for the self-loops of isolated entities.

Interactions come from ``split["train"]`` only, which is what ``LISTENED`` holds in the export;
validation and test pairs are kept apart for evaluation and never reach a model or a sampler.
A ``cold-items`` export also names its cold tracks (:attr:`TrainData.cold_items`): they have no
training listen, and samplers leave them out (they do not exist yet at training time).
Modality vectors are z-scored per column over the tracks that have them, then divided by √D
(:func:`standardize`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from mmkg.errors import TrainError
from mmkg.export.split import COLD_TRACKS
from mmkg.schema import KG_LABELS, Label


@dataclass
class Modality:
    """One modality of the items: values ``[n_items, dim]`` and presence ``mask [n_items]``."""

    name: str
    kind: str
    values: torch.Tensor
    mask: torch.Tensor


@dataclass
class TrainData:
    """Everything a model, a sampler or an evaluator needs, as numpy/torch arrays."""

    n_users: int
    n_items: int
    n_entities: int
    n_relations: int
    """KG relations + 1 (the self-loop relation, id ``n_relations - 1``)."""
    kg: np.ndarray
    """int64 ``[n_edges, 3]`` (head entity, relation, tail entity), both directions."""
    modalities: list[Modality]
    split: dict[str, np.ndarray]
    user_ids: list[str] = field(default_factory=list)
    item_ids: list[str] = field(default_factory=list)
    fastrp: tuple[torch.Tensor, torch.Tensor] | None = None
    """GDS FastRP vectors of the training graph ``(users [n_users, d], items [n_items, d])``
    when the export has them (``mmkg export --fastrp``)."""
    cold_items: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """``cold-items`` exports: the cold track indices (sorted); empty otherwise."""

    @property
    def self_relation(self) -> int:
        return self.n_relations - 1

    @property
    def train(self) -> np.ndarray:
        return self.split["train"]

    @property
    def warm_items(self) -> np.ndarray:
        """bool ``[n_items]``: False for the cold tracks, which no training step may touch."""
        warm = np.ones(self.n_items, dtype=bool)
        warm[self.cold_items] = False
        return warm

    def modalities_line(self) -> str:
        """One line naming each modality, its kind, dimension and the tracks that have it, e.g.
        ``modalities: audio_librosa (Audio) 80-d on 269/269 tracks, …`` (``none`` without)."""
        shown = [f"{m.name} ({m.kind}) {m.values.shape[1]}-d on {int(m.mask.sum())}/{self.n_items} "
                 "tracks" for m in self.modalities]
        return f"modalities: {', '.join(shown) or 'none'}"

    def popularity(self) -> np.ndarray:
        """Training interactions per item (``[n_items]``); the only popularity anyone may use."""
        return np.bincount(self.train[:, 1], minlength=self.n_items)

    @classmethod
    def from_export(cls, export, modality_names: list[str] | None = None) -> "TrainData":
        """Build from an :class:`mmkg.export.ExportedGraph`; ``modality_names`` selects features.

        Raises:
            TrainError: no tracks or users, no training listens, an unknown modality name, a
                modality whose rows do not match the tracks, or one whose present rows are all
                identical (the reference code's bug, which silently turns a modality into a
                constant).
        """
        g = export.graph
        offsets, total = entity_offsets(g)
        if Label.TRACK.value not in offsets or Label.USER.value not in g.ntypes:
            raise TrainError("the export has no Track or no User nodes")
        n_items, n_users = g.num_nodes(Label.TRACK.value), g.num_nodes(Label.USER.value)

        triples = []
        for rel_id, (src, rel, dst) in enumerate(export.relations):
            if src not in offsets or dst not in offsets:
                raise TrainError(f"relation {(src, rel, dst)} joins labels outside the KG")
            s, d = (t.numpy().astype(np.int64) for t in g.edges(etype=(src, rel, dst)))
            s, d = s + offsets[src], d + offsets[dst]
            r = np.full_like(s, rel_id)
            triples += [np.stack([s, r, d], 1), np.stack([d, r, s], 1)]
        kg = np.concatenate(triples) if triples else np.zeros((0, 3), np.int64)

        split = {k: np.asarray(v, dtype=np.int64).reshape(-1, 2) for k, v in export.split.items()
                 if k != COLD_TRACKS}
        for key in ("train", "valid", "test"):
            if key not in split:
                raise TrainError(f"the export's split has no {key!r} array")
        if len(split["train"]) == 0:
            raise TrainError("the export has no training listens (its split put none in train): "
                             "ingest listens, then export again")
        return cls(
            n_users=n_users, n_items=n_items, n_entities=total,
            n_relations=len(export.relations) + 1, kg=kg,
            modalities=_modalities(export.modalities, modality_names, n_items), split=split,
            user_ids=list(export.id_maps.get(Label.USER.value, [])),
            item_ids=list(export.id_maps.get(Label.TRACK.value, [])),
            fastrp=(export.fastrp["user"], export.fastrp["track"]) if export.fastrp else None,
            cold_items=np.asarray(export.split.get(COLD_TRACKS, np.empty(0)), dtype=np.int64),
        )


def entity_offsets(graph) -> tuple[dict[str, int], int]:
    """``({label: index of its first node in the entity space}, n_entities)`` of a heterograph:
    the labels of :data:`KG_LABELS` present in it, in that order (``Track`` first)."""
    offsets, total = {}, 0
    for lab in (lab.value for lab in KG_LABELS if lab.value in graph.ntypes):
        offsets[lab] = total
        total += graph.num_nodes(lab)
    return offsets, total


def _modalities(raw: dict, names: list[str] | None, n_items: int) -> list[Modality]:
    unknown = sorted(set(names or []) - set(raw))
    if unknown:
        raise TrainError(f"unknown modality {', '.join(unknown)}; the export has {sorted(raw)}")
    out = []
    for name in (names if names is not None else sorted(raw)):
        entry = raw[name]
        values = torch.as_tensor(entry["values"], dtype=torch.float32)
        mask = torch.as_tensor(entry["mask"], dtype=torch.bool)
        if values.ndim != 2 or values.shape[0] != n_items or mask.shape != (n_items,):
            raise TrainError(f"modality {name!r}: values {tuple(values.shape)} / mask "
                             f"{tuple(mask.shape)} do not match {n_items} tracks")
        present = values[mask]
        if len(present) > 1 and bool((present == present[0]).all()):
            raise TrainError(f"modality {name!r} has the same vector for every track: "
                             "a broken feature extraction, refusing to train on it")
        out.append(Modality(name, str(entry.get("kind", "")), standardize(values, mask), mask))
    return out


def standardize(values: torch.Tensor, mask: torch.Tensor,
                reference: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    r"""Per-column z-score over the present rows, scaled to unit mean row norm:
    :math:`z_{ij} = (x_{ij} - \mu_j) / (\sigma_j \sqrt{D})`; :math:`\mu, \sigma` over the
    present rows of ``reference`` = ``(values, mask)`` when given (tracks newer than a training
    run are scaled with the statistics the run was trained with), else of ``values``.

    Raw extractor outputs live on very different scales (librosa MFCC means reach hundreds,
    MiniLM components are ~0.04), so without this one modality saturates the fusion's ``tanh``
    and another is invisible; the :math:`\sqrt{D}` keeps a 384-d and an 8-d modality at the
    same norm. Item content only (no interactions), so it leaks nothing. Columns constant over
    the present rows, and absent rows, become 0.

    Shapes:
        - values ``[n, D]``, mask ``[n]`` bool → ``[n, D]``
    """
    ref_values, ref_mask = reference if reference is not None else (values, mask)
    present = ref_values[ref_mask]
    if len(present) == 0:
        return torch.zeros_like(values)
    mean, std = present.mean(0), present.std(0, unbiased=False)
    varies = std > 1e-8
    z = (values - mean) / (torch.where(varies, std, torch.ones_like(std)) * values.shape[1] ** 0.5)
    return torch.where(mask.unsqueeze(1) & varies, z, torch.zeros_like(z))
