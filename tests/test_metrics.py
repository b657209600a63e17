"""Metrics against hand-computed examples."""

import math

import numpy as np
import pytest

from mmkg.train import metrics


def test_auc_counts_ordered_pairs():
    # pos 0.9 beats both negatives, pos 0.4 beats 0.1 only: 3 of 4 pairs
    assert metrics.auc([1, 0, 1, 0], [0.9, 0.8, 0.4, 0.1]) == pytest.approx(0.75)


def test_auc_ties_count_half_and_single_class_is_nan():
    assert metrics.auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert metrics.auc([1, 0, 0], [0.5, 0.5, 0.2]) == pytest.approx(0.75)
    assert math.isnan(metrics.auc([1, 1], [0.2, 0.3]))


def test_f1_at_threshold():
    # predictions [1, 0, 1, 0]: TP 1, FP 1, FN 1 → 2/(2+1+1)
    assert metrics.f1([1, 1, 0, 0], [0.6, 0.4, 0.7, 0.1]) == pytest.approx(0.5)
    assert metrics.f1([1, 0], [0.5, 0.2]) == pytest.approx(1.0)  # 0.5 counts as positive
    assert metrics.f1([0, 0], [0.1, 0.2]) == 0.0


def test_topk_metrics_by_hand():
    hits = np.array([[1, 0, 1], [0, 0, 0]])
    n_truth = np.array([2, 1])
    m = metrics.topk_metrics(hits, n_truth, ks=(1, 3))
    assert m["recall@1"] == pytest.approx((1 / 2 + 0) / 2)
    assert m["recall@3"] == pytest.approx((2 / 2 + 0) / 2)
    assert m["precision@1"] == pytest.approx(0.5)
    assert m["precision@3"] == pytest.approx((2 / 3) / 2)
    assert m["hit@1"] == pytest.approx(0.5)
    assert m["hit@3"] == pytest.approx(0.5)
    dcg = 1 + 1 / np.log2(4)
    idcg = 1 + 1 / np.log2(3)
    assert m["ndcg@3"] == pytest.approx(dcg / idcg / 2)
    assert m["ndcg@1"] == pytest.approx(0.5)


def test_ndcg_ideal_is_capped_by_k_and_truth():
    # one relevant item ranked first: perfect whatever K
    assert metrics.ndcg_at(np.array([[1, 0, 0]]), np.array([1]), 3) == pytest.approx(1.0)
    # five relevant items, K = 2, both hits: perfect
    assert metrics.ndcg_at(np.array([[1, 1, 0]]), np.array([5]), 2) == pytest.approx(1.0)


def test_users_without_truth_are_rejected():
    with pytest.raises(ValueError, match="every evaluated user needs at least one ground-truth item"):
        metrics.topk_metrics(np.zeros((1, 3)), np.array([0]), ks=(1,))
