"""Warm start (``mmkg train --init-from RUN``): a new run begins from a previous run's weights.

The previous run is usually the one published yesterday, and today's export holds new users,
new tracks and new KG nodes beside the old ones, at other row numbers. Its tables indexed by id
(a model's :attr:`~mmkg.train.model.base.Recommender.id_tables`: users, tracks or KG entities,
KG relations) are therefore copied **row by row, matched by id** (the export's id maps:
``(label, id)`` for an entity, the ``(source label, type, target label)`` triple for a
relation); a row whose id the previous run did not have keeps the new model's own seeded
initialisation. Every other parameter (fusion projections, ...) is copied whole and must have
the same shape. The parameters taken are those that produced the previous run's published
vectors (``refit.pt`` after ``--refit``, else ``model.pt``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mmkg.errors import TrainError
from mmkg.export import ExportedGraph
from mmkg.schema import KG_LABELS, Label
from mmkg.train.model.base import Recommender
from mmkg.train.run_folder import EXPORT_MANIFEST, RunFolder

DEFAULTS = Path(__file__).resolve().parent / "configs" / "warm_start.toml"
"""The run config a warm start reads first (``mmkg train --init-from``): ``epochs``, ``lr``."""
SELF_RELATION = ("", "self", "")
"""The key of the relation row after the export's relations (the self-loop of KG aggregation)."""


def row_keys(export: ExportedGraph) -> dict[str, list]:
    """The id of every row of each kind of table, in row order: ``user``, ``item`` (tracks),
    ``entity`` (``(label, id)`` of the KG labels present, tracks first, as
    :func:`mmkg.train.data.entity_offsets` orders them) and ``relation``."""
    labels = [lab.value for lab in KG_LABELS if lab.value in export.graph.ntypes]
    return {
        "user": list(export.id_maps.get(Label.USER.value, [])),
        "item": list(export.id_maps.get(Label.TRACK.value, [])),
        "entity": [(lab, i) for lab in labels for i in export.id_maps.get(lab, [])],
        "relation": [tuple(r) for r in export.relations] + [SELF_RELATION],
    }


def evaluated_listens_seen(old: ExportedGraph, new: ExportedGraph, *, refit: bool
                           ) -> dict[str, dict[str, int]]:
    """Per evaluated part of the export ``new`` (``valid``, ``test``, and ``valid_cold``,
    ``test_cold`` when present): ``{"seen": s, "listens": n}``, of its ``n`` listens the ``s``
    that a run trained on ``old`` trained on, matched by (user id, track id): the ``train``
    split of ``old``, or its train, valid and test listens when the run was ``refit``. Any seen
    listen makes the new run's validation (its selection) and test figures flatter the warm
    start: a daily export splits each user's listens anew, so yesterday's training listens land
    in today's validation and test (``bench/refresh.py`` rewrites the day-0 split to avoid it)."""
    parts = ("train", "valid", "test") if refit else ("train",)
    trained = np.concatenate([np.asarray(old.split[k]).reshape(-1, 2) for k in parts if k in old.split])
    users = _index_in(old.id_maps.get(Label.USER.value, []), new.id_maps.get(Label.USER.value, []))
    tracks = _index_in(old.id_maps.get(Label.TRACK.value, []), new.id_maps.get(Label.TRACK.value, []))
    n_tracks = max(len(new.id_maps.get(Label.TRACK.value, [])), 1)
    u, i = users[trained[:, 0]], tracks[trained[:, 1]]
    known = (u >= 0) & (i >= 0)
    seen = np.unique(u[known] * n_tracks + i[known])
    counts = {}
    for part in ("valid", "test", "valid_cold", "test_cold"):
        pairs = np.asarray(new.split.get(part, np.empty((0, 2), np.int64))).reshape(-1, 2)
        if len(pairs):
            hit = np.isin(pairs[:, 0] * n_tracks + pairs[:, 1], seen)
            counts[part] = {"seen": int(hit.sum()), "listens": len(pairs)}
    return counts


def _index_in(old_ids: list, new_ids: list) -> np.ndarray:
    """For each row of ``old_ids``, the row of the same id in ``new_ids``, or -1."""
    where = {key: row for row, key in enumerate(new_ids)}
    return np.array([where.get(key, -1) for key in old_ids], dtype=np.int64)


def check_previous_run(previous: Path, model_name: str) -> None:
    """What :func:`warm_start` needs of run ``previous`` that can be checked before a run is
    exported or written: a finished run of model ``model_name`` whose export is still there.

    Raises:
        TrainError: ``previous`` holds another model (one line).
        RunFolderError: ``previous`` is not a finished run folder, or its export is gone.
    """
    run = RunFolder(previous)
    held = run.load_config()["model"]["name"]  # config.json: no weights read to refuse a model
    if held != model_name:
        raise TrainError(f"--init-from: {run.path} holds another model ({held}; this run trains "
                         f"{model_name}); give a run of the same model")
    export = run.load_embedded_model().export  # the weights, read once
    if export is None or not (Path(export) / EXPORT_MANIFEST).is_file():
        run.export_manifest()  # raises, saying which


def warm_start(model: Recommender, export: Path, previous: Path
               ) -> dict[str, dict[str, dict[str, int]]]:
    """Load the weights of run ``previous`` into ``model`` (built on the export ``export``),
    matching the rows of its id tables by id (module docstring); return ``{"rows": per id table
    {"kept": rows taken from the previous run, "fresh": rows left as initialised}, "seen":``
    :func:`evaluated_listens_seen` ``}``.

    Raises:
        TrainError: the model cannot warm-start, or ``previous`` holds another model or
            architecture (one line).
        RunFolderError: ``previous`` is not a finished run folder, or its export is gone.
    """
    if model.id_tables is None:
        raise TrainError(f"--init-from: model {type(model).__name__} cannot start from another "
                         "run's weights; train it from scratch")
    run = RunFolder(previous)
    saved = run.load_embedded_model()
    if saved.export is None:
        raise TrainError(f"--init-from: {run.path} records no export folder, so its rows cannot "
                         "be matched by id")
    old_export = ExportedGraph.load(saved.export, mmap=True)
    new_export = ExportedGraph.load(Path(export), mmap=True)
    old_keys, new_keys = row_keys(old_export), row_keys(new_export)
    state = model.state_dict()
    if set(saved.state_dict) != set(state):
        raise TrainError(f"--init-from: {run.path} holds another model (parameters "
                         f"{sorted(set(saved.state_dict) ^ set(state))[:3]} differ); give a run "
                         "of the same model")
    report = {}
    for name, old in saved.state_dict.items():
        new = state[name]
        kind = model.id_tables.get(name)
        if old.shape[1:] != new.shape[1:] or (kind is None and old.shape != new.shape):
            raise TrainError(f"--init-from: {run.path} was trained with another architecture "
                             f"({name} {list(old.shape)} there, {list(new.shape)} now)")
        if kind is None:
            state[name] = old.clone()
            continue
        where = {key: row for row, key in enumerate(old_keys[kind])}
        rows = np.array([where.get(key, -1) for key in new_keys[kind]], dtype=np.int64)
        kept = rows >= 0
        table = new.clone()
        table[torch.as_tensor(np.flatnonzero(kept))] = old[torch.as_tensor(rows[kept])]
        state[name] = table
        report[name] = {"kept": int(kept.sum()), "fresh": int((~kept).sum())}
    model.load_state_dict(state)
    return {"rows": report,
            "seen": evaluated_listens_seen(old_export, new_export, refit="refit" in run.load_metrics())}
