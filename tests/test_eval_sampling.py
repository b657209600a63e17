"""Evaluation that does not score all pairs more than needed: validation top-K on a seeded
sample of users (``valid_users``), and test metrics and the published top-K from ONE scoring of
every user against every track (``final_scoring``)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from mmkg.train.config import TrainConfig
from mmkg.train.data import TrainData
from mmkg.train.evaluate import evaluate, valid_sample
from mmkg.train.fit import embeddings, final_scoring, fit
from mmkg.train.model import build_model
from mmkg.train.run_folder import RunFolder
from tests.synthetic_export import make_export

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data() -> TrainData:
    return TrainData.from_export(make_export())


def _config(**kw) -> TrainConfig:
    return TrainConfig.load(overrides={"epochs": 3, "lr": 0.01, "batch_size": 32, "patience": 3, **kw})


def test_valid_sample_is_seeded_sized_and_drawn_from_validation_users(data):
    users = np.unique(data.split["valid"][:, 0])
    sample = valid_sample(data, 10, seed=0)
    assert len(sample) == 10 and len(set(sample)) == 10 and set(sample) <= set(users)
    assert list(sample) == sorted(sample)
    assert np.array_equal(sample, valid_sample(data, 10, seed=0))
    assert not np.array_equal(sample, valid_sample(data, 10, seed=1))
    assert valid_sample(data, 0, seed=0) is None and valid_sample(data, len(users), seed=0) is None


def test_sampled_validation_ranks_only_the_sample(data):
    model = build_model(_config().model, data, np.random.default_rng(0))
    sample = valid_sample(data, 12, seed=0)
    full = evaluate(model, data, "valid")
    sampled = evaluate(model, data, "valid", users=sample)
    # by hand: the sample's users' validation pairs, ranked as a whole split
    only = data.split["valid"][np.isin(data.split["valid"][:, 0], sample)]
    by_hand = evaluate(model, replace(data, split={**data.split, "valid": only}), "valid")
    assert sampled["recall@20"] == by_hand["recall@20"] and sampled["ndcg@20"] == by_hand["ndcg@20"]
    assert sampled["recall@20"] != full["recall@20"]
    assert sampled["auc"] == full["auc"]  # CTR covers the whole split


def test_fit_records_and_uses_the_sample(data, tmp_path):
    some = fit(data, _config(valid_users=12), tmp_path / "some", progress=False)
    every = fit(data, _config(valid_users=0), tmp_path / "all", progress=False)
    assert some["valid_users"] == 12 and every["valid_users"] is None
    assert some["valid"]["recall@20"] != every["valid"]["recall@20"]
    assert [h["loss"] for h in some["history"]] == [h["loss"] for h in every["history"]]
    # the same weights every epoch: only what selection saw differs
    assert [h["valid_recall@20"] for h in some["history"]] != [h["valid_recall@20"] for h in every["history"]]
    assert [h["valid_auc"] for h in some["history"]] == [h["valid_auc"] for h in every["history"]]


def test_final_scoring_equals_separate_test_evaluation_and_embeddings(data, tmp_path):
    fit(data, _config(), tmp_path, progress=False)
    model = build_model(_config().model, data, np.random.default_rng(0))
    model.load_state_dict(RunFolder(tmp_path).load_model().state_dict)
    test, published = final_scoring(model, data, test=True, users_per_chunk=7)
    assert test == pytest.approx(evaluate(model, data, "test"), abs=1e-12)
    alone = embeddings(model, data, users_per_chunk=64)
    assert torch.equal(published.topk_items, alone.topk_items)
    assert torch.allclose(published.topk_scores, alone.topk_scores)
    saved = RunFolder(tmp_path).load_embeddings()
    assert torch.equal(saved.topk_items, published.topk_items)
    train = {tuple(p) for p in data.split["train"]}
    assert not any((u, i) in train for u, row in enumerate(published.topk_items.tolist()) for i in row)
