"""The two evaluation protocols: CTR (AUC, F1 over the whole set) and top-K over all items.

CTR: the split's positives (label 1) and its precomputed uniform negatives ``<split>_neg``
(label 0), scored by ``sigmoid(logit)``; AUC and F1 (threshold 0.5) over all rows at once.

Top-K: every user with a positive in the evaluated split ranks **all** items except their
training items (and, at test time, their validation items); metrics from :mod:`mmkg.train.metrics`
at every K in :data:`mmkg.train.config.TOPK`. Users without a positive in the split are not ranked
(their number is logged). Validation may rank a seeded sample of its users instead
(:func:`valid_sample`, ``TrainConfig.valid_users``): the top-K metrics are then those users'
means. On a ``cold-items`` export this ranking is the **warm** one: the cold
tracks are not candidates, and :func:`mmkg.train.evaluate_cold.cold_metrics` adds the ``cold_*``
and ``mixed_*`` metrics.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from mmkg.errors import RunFolderError
from mmkg.train import metrics
from mmkg.train.config import TOPK, USERS_PER_CHUNK, TrainConfig
from mmkg.train.data import TrainData
from mmkg.train.evaluate_cold import cold_metrics
from mmkg.train.ranking import ranked
from mmkg.train.model.base import Recommender
from mmkg.train.run_folder import RunFolder

log = logging.getLogger(__name__)


@torch.no_grad()
def predict(model: Recommender, pairs: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """``sigmoid`` scores of ``(user, item)`` pairs ``[n, 2]``."""
    pairs_t = torch.as_tensor(pairs, dtype=torch.long)
    out = [torch.sigmoid(model(p[:, 0], p[:, 1])) for p in pairs_t.split(batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(0)


def ctr_metrics(model: Recommender, positives: np.ndarray, negatives: np.ndarray) -> dict[str, float]:
    """``{"auc", "f1"}`` over ``positives ∪ negatives``."""
    labels = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    scores = predict(model, np.concatenate([positives, negatives]))
    return {"auc": metrics.auc(labels, scores), "f1": metrics.f1(labels, scores)}


def topk_metrics(model: Recommender, truth: np.ndarray, exclude: np.ndarray, n_users: int,
                 ks: tuple[int, ...] = TOPK, users_per_chunk: int = USERS_PER_CHUNK,
                 candidates: np.ndarray | None = None) -> dict[str, float]:
    """Rank the ``candidates`` (None: all items) except ``exclude`` pairs for each user having
    ``truth`` pairs."""
    _, hits, n_truth = ranked(model, truth, exclude, n_users, max(ks), candidates, users_per_chunk)
    return metrics.topk_metrics(hits, n_truth, ks) if len(hits) else {}


def valid_sample(data: TrainData, size: int, seed: int) -> np.ndarray | None:
    """The users whose validation top-K is ranked: ``size`` of the users with a validation
    listen, drawn without replacement by a generator seeded with ``(seed, 1)`` (so the same
    users every epoch and in every run with this seed), sorted; None (all of them) when
    ``size`` is 0 or at least their number."""
    users = np.unique(data.split["valid"][:, 0]) if len(data.split["valid"]) else np.empty(0, np.int64)
    if size == 0 or size >= len(users):
        return None
    return np.sort(np.random.default_rng([seed, 1]).choice(users, size, replace=False))


def evaluate(model: Recommender, data: TrainData, which: str = "valid",
             users_per_chunk: int = USERS_PER_CHUNK, topk: bool = True, users: np.ndarray | None = None
             ) -> dict[str, float]:
    """CTR (+ top-K unless ``topk=False``) metrics on ``which`` (``"valid"``/``"test"``); the
    warm top-K ranks only ``users`` (user indices) when given, CTR always covers the whole
    split."""
    if which not in ("valid", "test"):
        raise ValueError(f"which must be 'valid' or 'test', not {which!r}")
    model.eval()
    split = data.split
    exclude = split["train"] if which == "valid" else np.concatenate([split["train"], split["valid"]])
    out: dict[str, float] = {}
    negatives = split.get(f"{which}_neg")
    if negatives is not None and len(negatives) and len(split[which]):
        out.update(ctr_metrics(model, split[which], negatives))
    if topk:
        cold = data.cold_items.size > 0
        truth = split[which] if users is None else split[which][np.isin(split[which][:, 0], users)]
        out.update(topk_metrics(model, truth, exclude, data.n_users, users_per_chunk=users_per_chunk,
                                candidates=data.warm_items if cold else None))
        if cold:
            out.update(cold_metrics(model, data, which, users_per_chunk))
    return out


def load_run(run: Path, export_path: Path | None = None) -> tuple[Recommender, TrainData]:
    """The selected model of a run folder and the data it was trained on (its recorded export,
    or ``export_path``, which must then be that export: moved, or exported again alike).

    Raises:
        RunFolderError: the folder has no readable ``model.pt``, or records no export; or
            ``export_path`` is not the graph and split the run was trained on (another split
            would put the model's training listens among the evaluated ones).
        ExportError: the export folder is not readable.
    """
    from mmkg.export import ExportedGraph
    from mmkg.train.model import build_model

    folder = RunFolder(run)
    saved = folder.load_model()
    config = TrainConfig(**saved.config)
    path = export_path or saved.export
    if path is None:
        raise RunFolderError(f"{run}/{RunFolder.MODEL} records no export folder: pass --export")
    if export_path is not None and saved.export is not None:
        folder.check_export(Path(export_path), saved.export)
    data = TrainData.from_export(ExportedGraph.load(Path(path), mmap=True), config.model.modality_names)
    model = build_model(config.model, data, np.random.default_rng(config.seed))
    expected = model.state_dict()
    for name, tensor in saved.state_dict.items():
        if name in expected and expected[name].shape != tensor.shape:
            raise RunFolderError(
                f"{path} is not the graph {run} was trained on ({data.n_users} users, "
                f"{data.n_items} tracks; the model's {name} is {tuple(tensor.shape)}, this graph "
                f"needs {tuple(expected[name].shape)}): give the export it was trained on "
                f"({saved.export})")
    model.load_state_dict(saved.state_dict)
    return model, data
