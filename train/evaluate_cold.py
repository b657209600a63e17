"""Cold-start evaluation (new tracks) of a ``cold-items`` export: the ``cold_*`` and ``mixed_*``
metrics that :func:`mmkg.train.evaluate.evaluate` adds to the warm ones.

With ``C`` the cold tracks, ``T_u`` user ``u``'s cold listens of the evaluated split
(``valid_cold`` or ``test_cold``) and ``X_u`` the listens the user is known to have at that point
(``train``; at test also ``valid`` and ``valid_cold``), only users with ``T_u ≠ ∅`` are ranked:

``cold``
    candidates ``C \\ X_u`` (every candidate is a new track); truth ``T_u``. Keys ``cold_recall@K``,
    ``cold_ndcg@K``, ... for every K of :data:`mmkg.train.config.TOPK`. Can content and KG place
    a track that has no listen?
``mixed``
    candidates: every track minus ``X_u`` (cold and warm ranked together, as a new release would
    be); truth ``T_u``. Keys ``mixed_recall@K``, ``mixed_ndcg@K``, ..., and
    ``mixed_cold_share@20`` = mean over users of ``|top_20(u) ∩ C| / 20`` (do new tracks surface at
    all? 0 for a model that cannot score them above any warm track).
"""

from __future__ import annotations

import numpy as np

from mmkg.train import metrics
from mmkg.train.config import TOPK, USERS_PER_CHUNK
from mmkg.train.data import TrainData
from mmkg.train.model.base import Recommender
from mmkg.train.ranking import ranked

SHARE_AT = 20
"""The K of ``mixed_cold_share@K``."""


def cold_metrics(model: Recommender, data: TrainData, which: str, users_per_chunk: int = USERS_PER_CHUNK) -> dict[str, float]:
    """The ``cold_*`` and ``mixed_*`` metrics of ``which`` (``"valid"`` or ``"test"``)."""
    split = data.split
    truth = split[f"{which}_cold"]
    known = [split["train"]] + ([split["valid"], split["valid_cold"]] if which == "test" else [])
    exclude = np.concatenate(known)
    cold = ~data.warm_items
    out: dict[str, float] = {}
    if not len(truth):
        return out
    _, hits, n_truth = ranked(model, truth, exclude, data.n_users, max(TOPK), cold, users_per_chunk)
    out.update({f"cold_{k}": v for k, v in metrics.topk_metrics(hits, n_truth, TOPK).items()})
    top, hits, n_truth = ranked(model, truth, exclude, data.n_users, max(TOPK), None, users_per_chunk)
    out.update({f"mixed_{k}": v for k, v in metrics.topk_metrics(hits, n_truth, TOPK).items()})
    top = top[:, :SHARE_AT]
    out[f"mixed_cold_share@{SHARE_AT}"] = float(((top >= 0) & cold[top.clip(min=0)]).sum(1).mean() / SHARE_AT)
    return out
