"""Evaluation metrics, pure numpy. Keys are ``"auc"``, ``"f1"``, ``"recall@20"``, ...

CTR metrics take labels ``y ∈ {0,1}`` and scores over the **whole** evaluation set.
Top-K metrics take ``hits [n_users, K_max]`` (``hits[u, j]`` is 1 when the item ranked ``j``-th for
user ``u`` is one of the user's ground-truth items) and ``n_truth [n_users]`` (``|T_u| > 0``), and
return the mean over users.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney): ``P(s_pos > s_neg) + ½ P(s_pos = s_neg)``.

    ``AUC = (Σ_{i∈pos} rank_i − n_pos (n_pos + 1) / 2) / (n_pos · n_neg)`` with average ranks for
    ties. Returns NaN when one class is absent.
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # average rank (1-based) over each run of tied scores
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def f1(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    """F1 of the predictions ``score >= threshold``: ``2 TP / (2 TP + FP + FN)`` (0 when undefined)."""
    labels = np.asarray(labels).astype(bool)
    pred = np.asarray(scores) >= threshold
    tp = int((pred & labels).sum())
    denom = 2 * tp + int((pred & ~labels).sum()) + int((~pred & labels).sum())
    return 2 * tp / denom if denom else 0.0


def recall_at(hits: np.ndarray, n_truth: np.ndarray, k: int) -> float:
    """Recall@K = mean_u  |top_K(u) ∩ T_u| / |T_u|."""
    return float((hits[:, :k].sum(1) / n_truth).mean())


def precision_at(hits: np.ndarray, n_truth: np.ndarray, k: int) -> float:
    """Precision@K = mean_u  |top_K(u) ∩ T_u| / K."""
    return float((hits[:, :k].sum(1) / k).mean())


def hit_at(hits: np.ndarray, n_truth: np.ndarray, k: int) -> float:
    """Hit@K = mean_u  1[|top_K(u) ∩ T_u| > 0]."""
    return float((hits[:, :k].sum(1) > 0).mean())


def ndcg_at(hits: np.ndarray, n_truth: np.ndarray, k: int) -> float:
    """NDCG@K = mean_u DCG/IDCG, ``DCG = Σ_{j<K} hit_j / log2(j + 2)``,
    ``IDCG = Σ_{j < min(|T_u|, K)} 1 / log2(j + 2)`` (binary relevance, ``j`` 0-based)."""
    discount = 1.0 / np.log2(np.arange(k) + 2.0)
    dcg = (hits[:, :k] * discount[: hits[:, :k].shape[1]]).sum(1)
    ideal = np.cumsum(discount)[np.minimum(n_truth, k) - 1]
    return float((dcg / ideal).mean())


TOPK_METRICS = {"recall": recall_at, "precision": precision_at, "ndcg": ndcg_at, "hit": hit_at}
"""Registry of the top-K metrics by key prefix."""


def topk_metrics(hits: np.ndarray, n_truth: np.ndarray, ks: Iterable[int]) -> dict[str, float]:
    """Every metric of :data:`TOPK_METRICS` at every ``k`` in ``ks`` (``"recall@20"``, ...)."""
    hits = np.asarray(hits, dtype=np.float64)
    n_truth = np.asarray(n_truth)
    if (n_truth <= 0).any():
        raise ValueError("every evaluated user needs at least one ground-truth item")
    return {f"{name}@{k}": fn(hits, n_truth, k) for k in ks for name, fn in TOPK_METRICS.items()}
