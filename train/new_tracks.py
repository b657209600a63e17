r"""Inductive vectors for tracks that arrive after training: the **trained** MKGCN's own forward
pass over index spaces extended with the new tracks, no retraining.

With the run's parameters :math:`\theta` (those that produced its ``embeddings.pt``) and
:class:`~mmkg.export.new_tracks.NewTracks` :math:`N`:

1. the entity space becomes ``[old tracks; new tracks; other entities]`` (items stay entities
   ``0..n_items-1``); the KG gains each new track's edges to other new tracks and to the known
   entities that training reached (both directions, the relation ids of training). Training
   reaches the entities within ``model.kg.hops`` KG hops of a track (:func:`trained_entities`);
   any other, such as the new album of a retrain's new releases, holds its random initial
   embedding, so its edges are skipped and counted (:attr:`InductiveVectors.untrained_edges`);
2. a new track's modality vectors are standardised with the training tracks' statistics
   (:func:`mmkg.train.data.standardize` with ``reference``);
3. the model is built as in training (:func:`mmkg.train.model.build_model`; training pairs as
   the run had them: ``all_listens`` after a refit) and loaded with :math:`\theta`, the entity
   table grown by **zero rows** for the new tracks: no ID signal, as a cold item;
4. its item vectors are computed by the model itself (``get_embedding``), so a new track's
   vector is exactly what the model computes for an item with no ID signal and no interaction:
   fusion of its content → relational KG aggregation → its (empty) collaborative layers.

Only the new tracks' vectors are used: the published vectors of old tracks and of users stay as
published (adding KG edges nudges old tracks' vectors too, which would break the published
top-K lists). A new track with neither a modality the model uses nor a kept KG edge would get a
vector from nothing: it is reported in :attr:`InductiveVectors.without_signal` and left out.

:func:`merge_topk` then puts the new tracks into the run's exact top-K lists:
``score = sigmoid(⟨u, i⟩)`` as :func:`mmkg.train.fit.embeddings` scores.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from mmkg.errors import TrainError
from mmkg.export import ExportedGraph
from mmkg.export.new_tracks import NewTracks
from mmkg.schema import Label
from mmkg.train.config import USERS_PER_CHUNK, TrainConfig
from mmkg.train.data import TrainData, entity_offsets, standardize
from mmkg.train.fit import all_listens
from mmkg.train.run_folder import Embeddings, RunFolder

INDUCTIVE_MODELS = ("mkgcn",)
"""Models whose item vectors come from content and the KG, so a new track can be placed."""


@dataclass
class InductiveVectors:
    """New tracks' vectors: ``ids[j]`` has ``vectors[j]``; ``without_signal`` got none."""

    ids: list[str]
    vectors: torch.Tensor
    """[len(ids), d]"""
    without_signal: list[str]
    untrained_edges: Counter = field(default_factory=Counter)
    """``{"<rel> <label>": count}`` of the new tracks' edges to entities training never reached."""


def cannot_place(model: str) -> str:
    """What to say of the tracks ``model`` (a phrase naming a model that is not one of
    :data:`INDUCTIVE_MODELS`) leaves without a vector: ``"mkgcn can place them, <model> cannot"``."""
    return f"{', '.join(INDUCTIVE_MODELS)} can place them, {model} cannot"


def places_new_tracks(run_dir) -> bool:
    """Whether the run's model (its ``config.json``) is one of :data:`INDUCTIVE_MODELS`."""
    return RunFolder(run_dir).load_config()["model"]["name"] in INDUCTIVE_MODELS


def embed_new_tracks(run_dir, export: ExportedGraph, new: NewTracks) -> InductiveVectors:
    """The vectors the trained run ``run_dir`` (trained on ``export``) gives ``new`` (see the
    module docstring).

    Raises:
        RunFolderError: the run folder lacks its parameters.
        TrainError: the run's model is not in :data:`INDUCTIVE_MODELS`.
    """
    run = RunFolder(run_dir)
    saved = run.load_embedded_model()
    config = TrainConfig(**saved.config)
    if config.model.name not in INDUCTIVE_MODELS:
        raise TrainError(f"{run.path}: model {config.model.name!r} cannot place tracks it was not "
                         f"trained on (only {', '.join(INDUCTIVE_MODELS)} can); retrain to include them")
    data = TrainData.from_export(export, config.model.modality_names)
    if "refit" in run.load_metrics():
        data = all_listens(data)
    new, untrained = _without_untrained_edges(new, data, export, config.model.kg.hops)
    signal = _has_signal(new, data, config)
    extended = extend(data, export, new)
    from mmkg.train.model import build_model

    model = build_model(config.model, extended, np.random.default_rng(config.seed))
    model.load_state_dict(_grown_state(saved.state_dict, data.n_items, len(new)))
    model.eval()
    with torch.no_grad():
        items, _ = model.get_embedding()
    keep = torch.as_tensor(signal)
    return InductiveVectors(ids=[t for t, s in zip(new.ids, signal) if s],
                            vectors=items[data.n_items:][keep].float(),
                            without_signal=[t for t, s in zip(new.ids, signal) if not s],
                            untrained_edges=untrained)


def trained_entities(data: TrainData, hops: int) -> np.ndarray:
    """bool ``[n_entities]``: the items and the entities within ``hops`` KG hops of one. An
    item's vector aggregates its KG neighbourhood ``hops`` deep, so training reaches these
    entities' embeddings and no other's."""
    reached = np.zeros(data.n_entities, dtype=bool)
    reached[:data.n_items] = True
    frontier = reached.copy()
    heads, tails = data.kg[:, 0], data.kg[:, 2]
    for _ in range(hops):
        step = np.zeros_like(reached)
        step[tails[frontier[heads]]] = True
        step[heads[frontier[tails]]] = True
        frontier = step & ~reached
        reached |= step
    return reached


def _without_untrained_edges(new: NewTracks, data: TrainData, export: ExportedGraph,
                             hops: int) -> tuple[NewTracks, Counter]:
    """``new`` without its edges to entities that :func:`trained_entities` leaves out, and a
    count of those edges."""
    trained = trained_entities(data, hops)
    offsets, _ = entity_offsets(export.graph)
    kept, untrained = [], Counter()
    for edge in new.edges:
        _, rel, label, index = edge
        if label == Label.TRACK.value or trained[offsets[label] + index]:
            kept.append(edge)
        else:
            untrained[f"{export.relations[rel][1]} {label}"] += 1
    return replace(new, edges=kept), untrained


def extend(data: TrainData, export: ExportedGraph, new: NewTracks) -> TrainData:
    """``data`` with the new tracks as items ``n_items..n_items+len(new)-1`` (steps 1–2 of the
    module docstring); interactions unchanged."""
    n_new, n_items = len(new), data.n_items
    offsets, _ = entity_offsets(export.graph)
    kg = data.kg.copy()
    kg[:, [0, 2]] += np.where(kg[:, [0, 2]] >= n_items, n_new, 0)           # others move up
    rows = []
    for j, rel, label, index in new.edges:
        neighbour = index if label == Label.TRACK.value else offsets[label] + index + n_new
        rows += [(n_items + j, rel, neighbour), (neighbour, rel, n_items + j)]
    kg = np.concatenate([kg, np.asarray(rows, dtype=np.int64).reshape(-1, 3)])
    modalities = []
    for m in data.modalities:
        raw = export.modalities[m.name]
        values, mask = (torch.as_tensor(a) for a in new.features[m.name])
        reference = (torch.as_tensor(raw["values"], dtype=torch.float32),
                     torch.as_tensor(raw["mask"], dtype=torch.bool))
        modalities.append(replace(m, values=torch.cat([m.values, standardize(values, mask, reference)]),
                                  mask=torch.cat([m.mask, mask])))
    return replace(data, n_items=n_items + n_new, n_entities=data.n_entities + n_new, kg=kg,
                   modalities=modalities, item_ids=[*data.item_ids, *new.ids])


def _grown_state(state: dict[str, torch.Tensor], n_items: int, n_new: int) -> dict[str, torch.Tensor]:
    """``state`` with ``n_new`` zero rows inserted after the items of the entity table."""
    entity = state["entity.weight"]
    zeros = entity.new_zeros(n_new, entity.shape[1])
    return {**state, "entity.weight": torch.cat([entity[:n_items], zeros, entity[n_items:]])}


def _has_signal(new: NewTracks, data: TrainData, config: TrainConfig) -> list[bool]:
    """Per new track: a modality the model fuses is present, or a KG edge was kept."""
    signal = np.zeros(len(new), dtype=bool)
    if config.model.modalities:
        for m in data.modalities:
            signal |= new.features[m.name][1]
    signal[[j for j, *_ in new.edges]] = True
    return signal.tolist()


def merge_topk(embeddings: Embeddings, vectors: InductiveVectors, users_per_chunk: int = USERS_PER_CHUNK
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each user's exact top-K over the run's list and the new tracks, for the users whose list
    changes: ``(users [n], items [n, K], scores [n, K])``, best first; items index
    ``embeddings.track_ids + vectors.ids``, ``-1`` pads; ties keep the run's tracks first.

    A new track enters where ``sigmoid(⟨u, i⟩)`` beats the user's K-th score (or fills a slot
    the run left empty); the K stays the run's.
    """
    k, n_old = embeddings.k, len(embeddings.track_ids)
    new_items = torch.arange(n_old, n_old + len(vectors.ids))
    users, items, scores = [], [], []
    for start in range(0, len(embeddings.user_ids), users_per_chunk):
        stop = start + users_per_chunk
        old_items, old_scores = embeddings.topk_items[start:stop], embeddings.topk_scores[start:stop]
        old_scores = old_scores.masked_fill((old_items < 0) | old_scores.isnan(), float("-inf"))
        new_scores = torch.sigmoid(embeddings.user[start:stop] @ vectors.vectors.T)
        cand_items = torch.cat([old_items, new_items.expand(len(old_items), -1)], 1)
        cand_scores = torch.cat([old_scores, new_scores], 1)
        order = torch.argsort(cand_scores, dim=1, descending=True, stable=True)[:, :k]
        top_items, top_scores = cand_items.gather(1, order), cand_scores.gather(1, order)
        top_items = top_items.masked_fill(top_scores.isinf(), -1)
        changed = (order >= k).logical_and(~top_scores.isinf()).any(1)
        users.append(torch.nonzero(changed).squeeze(1) + start)
        items.append(top_items[changed])
        scores.append(top_scores[changed].masked_fill(top_items[changed] < 0, float("nan")))
    return torch.cat(users), torch.cat(items), torch.cat(scores)
