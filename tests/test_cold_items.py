"""Cold start (new tracks): the ``cold-items`` split against a real Neo4j, the cold and mixed
candidate sets on a hand-made example, and MKGCN's ID dropout."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mmkg.export import SplitConfig, export_heterograph
from mmkg.errors import TrainError
from mmkg.export.split import cold_tracks
from mmkg.train.config import ModelConfig
from mmkg.train.data import TrainData
from mmkg.train.evaluate import evaluate
from mmkg.train.fit import fit, make_sampler
from mmkg.train.config import TrainConfig
from mmkg.train.model import MKGCN, VectorRecommender, build_model
from mmkg.train.model.base import objective_loss, vector_logits
from mmkg.train.sampling import Negatives
from tests import export_graph
from tests.synthetic_export import make_export

COLD = SplitConfig(protocol="cold-items", cold_fraction=0.25)


def export(driver, database, seed: int):
    out = Path(tempfile.mkdtemp(prefix="mmkg-test-cold-")) / "export"
    return export_heterograph(driver, database, out, split=COLD, seed=seed, progress=False)


def pairs(array) -> set[tuple[int, int]]:
    return {(int(u), int(t)) for u, t in np.asarray(array).reshape(-1, 2)}


def test_cold_tracks_never_reach_training(export_graph_db, database):
    exported = export(export_graph_db, database, seed=5)
    split = exported.split
    cold = set(split["cold_tracks"].tolist())
    assert split["cold_tracks"].tolist() == cold_tracks(5, 12, 0.25).tolist()
    assert len(cold) == 3                                                  # ⌊0.25 · 12⌋ tracks
    listens = pairs(np.stack([exported.listened["user"], exported.listened["track"]], 1))
    assert sum(len(export_graph.LISTENS[u]) for u in export_graph.LISTENS) == len(listens)
    held = pairs(split["valid_cold"]) | pairs(split["test_cold"])
    assert held == {p for p in listens if p[1] in cold}                    # every cold listen, held out
    for part in ("train", "valid", "test", "valid_neg", "test_neg"):
        assert not {t for _, t in pairs(split[part])} & cold, part
    assert pairs(split["train"]) | pairs(split["valid"]) | pairs(split["test"]) | held == listens
    data = TrainData.from_export(exported)
    assert (data.popularity()[sorted(cold)] == 0).all()
    sampler = make_sampler(data, TrainConfig(negatives="ratio", neg_ratio=50))
    sampler.start_epoch(np.random.default_rng(0))
    assert not set(sampler.epoch_items.flatten().tolist()) & cold         # never even a negative
    again = export(export_graph_db, database, seed=5)
    for key, array in split.items():
        np.testing.assert_array_equal(again.split[key], array)
    other = export(export_graph_db, database, seed=6)
    assert other.split["cold_tracks"].tolist() != split["cold_tracks"].tolist()


class FixedScores(VectorRecommender):
    """``s(u, i) = scores[i]`` for every user."""

    def __init__(self, n_users: int, scores: list[float]) -> None:
        super().__init__()
        self.n_users, self.n_items = n_users, len(scores)
        self.i = torch.tensor(scores).unsqueeze(1)

    def propagate(self):
        return torch.ones(self.n_users, 1), self.i


def hand_made() -> TrainData:
    """6 tracks, 4 and 5 cold; user 0: train 0, valid 1, test 2, valid_cold 4, test_cold 5."""
    p = lambda *items: np.array([[0, i] for i in items], dtype=np.int64).reshape(-1, 2)  # noqa: E731
    split = {"train": np.array([[0, 0], [1, 3]]), "valid": p(1), "test": p(2), "valid_cold": p(4),
             "test_cold": p(5)}
    return TrainData(n_users=2, n_items=6, n_entities=6, n_relations=1, kg=np.zeros((0, 3), np.int64),
                     modalities=[], split=split, cold_items=np.array([4, 5]))


def test_cold_and_mixed_candidate_sets():
    data = hand_made()
    model = FixedScores(2, [6.0, 5.0, 4.0, 3.0, 2.0, 1.0])               # warm tracks score higher
    test = evaluate(model, data, "test")
    assert test["recall@1"] == 1.0               # warm: {2, 3} (0, 1 known, 4, 5 cold) → 2 first
    assert test["cold_recall@1"] == 1.0          # cold: {4, 5} minus valid_cold 4 → 5 first
    assert test["mixed_recall@2"] == 0.0         # mixed: 2, 3, 5 (0, 1, 4 known) → 5 third
    assert test["mixed_recall@5"] == 1.0 and test["mixed_ndcg@5"] == pytest.approx(0.5)
    assert test["mixed_cold_share@20"] == pytest.approx(1 / 20)
    valid = evaluate(model, data, "valid")
    assert valid["cold_recall@1"] == 1.0 and valid["mixed_recall@5"] == 1.0   # 4 first of 4, 5
    assert valid["mixed_cold_share@20"] == pytest.approx(2 / 20)           # 1, 2, 3, 4, 5 ranked


@pytest.fixture(scope="module")
def unseen_data() -> TrainData:
    """The synthetic export with item 0's training listens removed (a new track)."""
    data = TrainData.from_export(make_export())
    train = data.split["train"]
    return replace(data, split={**data.split, "train": train[train[:, 1] != 0]})


def mkgcn(data: TrainData, p: float, alpha: float = 0.5) -> MKGCN:
    torch.manual_seed(0)
    config = ModelConfig(name="mkgcn", dim=8, id_dropout=p, new_track_balance=alpha)
    return build_model(config, data, np.random.default_rng(0))


def test_id_dropout_acts_at_training_time_only(unseen_data):
    model = mkgcn(unseen_data, 0.5)
    model.train()
    with torch.no_grad():
        first, second = model.propagate()[1], model.propagate()[1]
    assert not torch.equal(first, second)                                  # a fresh mask per step
    model.eval()
    np.testing.assert_array_equal(model.get_embedding()[0].numpy(), model.propagate()[1].detach().numpy())
    plain = mkgcn(unseen_data, 0.0).train()
    with torch.no_grad():
        assert torch.equal(plain.propagate()[1], plain.propagate()[1])     # p = 0: no randomness


def test_new_tracks_go_without_id_and_keep_their_scale(unseen_data):
    model = mkgcn(unseen_data, 0.5).eval()
    with torch.no_grad():
        before = model.item_inputs()[0].clone()
        model.entity.weight[0] += 1.0                                      # item 0 has no listen
        model.train(False)
        assert torch.equal(model.item_inputs()[0][0], before[0])           # its ID is never used
        x = model.kg(model.item_inputs()[0], model.relation.weight)[0]
        assert torch.allclose(model.propagate()[1][0], x)                  # no 1/(L+1) shrink
        model.entity.weight[1] += 1.0                                      # item 1 has listens
        assert not torch.equal(model.item_inputs()[0][1], before[1])


def test_an_item_without_id_or_media_takes_the_mean_of_its_kg_hops(unseen_data):
    """``kg.hop_mean_if_empty``: an item without a training listen (so without its ID) and
    without media gets ``Σ h⁽ˡ⁾ / H``, i.e. ``x (1 + gH) / (gH)`` of the gated mix ``x``, whose
    layer 0 is empty; items with their ID, and every item of a catalog with media, keep the mix."""
    def items(modalities: bool, on: bool) -> torch.Tensor:
        torch.manual_seed(0)
        config = ModelConfig(name="mkgcn", dim=8, id_dropout=0.5, modalities=modalities,
                             kg={"gate": 1.0, "hop_mean_if_empty": on})
        model = build_model(config, unseen_data, np.random.default_rng(0)).eval()
        with torch.no_grad():
            return model.propagate()[1], model.no_id, model.kg.hop_weight[: model.n_items]

    (mix, no_id, g), (mean, _, _) = items(False, False), items(False, True)
    assert no_id[0] and no_id.sum() < len(no_id)
    assert torch.allclose(mean[no_id], (mix * (1 + g) / g)[no_id])        # H = 1
    assert mean[0].norm() > 1.5 * mix[0].norm()
    assert torch.equal(mean[~no_id], mix[~no_id])
    assert torch.equal(items(True, True)[0], items(True, False)[0])       # media: layer 0 not empty


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_the_loss_also_scores_the_items_without_their_id_as_new_tracks(unseen_data, alpha):
    """Training with ID dropout adds the objective over Ĩ, where the step's dropped items are
    scored by ``x_i`` alone (the new-track path) and the others by their final vectors, over the
    positives that :meth:`MKGCN.new_track_rows` keeps (every one with α = 0)."""
    model = mkgcn(unseen_data, 0.5, alpha).train()
    model.step_generator = torch.Generator().manual_seed(3)
    state = model.step_generator.get_state()
    with torch.no_grad():
        inputs, keep = model.item_inputs()
        model.step_generator.set_state(state)                              # the same draw again
        users, items, alone = model.propagate_with_alone()
    x = model.kg(inputs, model.relation.weight)[: model.n_items].detach()
    assert (~keep).sum() > 1 and keep.sum() > 1
    assert torch.allclose(alone[~keep], x[~keep]) and torch.equal(alone[keep], items[keep])
    assert not torch.allclose(items[~keep & ~model.no_id], x[~keep & ~model.no_id])
    batch, pos = torch.arange(12), torch.arange(1, 13) % model.n_items
    negatives = Negatives(items=torch.arange(4, 8), valid=torch.ones(12, 4, dtype=torch.bool))
    with torch.no_grad():
        model.step_generator.set_state(state)
        both = model.loss(batch, pos, negatives, "softmax", l2=0.0)
        model.step_generator.set_state(state)
        model.item_inputs()
        rows = model.new_track_rows(pos)                                   # the loss's draws again
        model.step_generator.set_state(state)
        first = VectorRecommender.loss(model, batch, pos, negatives, "softmax", l2=0.0)
    assert rows.all() if alpha == 0 else 0 < rows.sum() < len(rows)
    kept = negatives.rows(rows)
    cold = objective_loss(*vector_logits(users, alone, batch[rows], pos[rows], kept.items), kept,
                          "softmax", 1.0)
    assert torch.allclose(both, first + cold) and cold > 0


def test_the_new_track_term_keeps_a_track_with_probability_listens_to_the_minus_alpha(unseen_data):
    """``new_track_balance`` = α: track i's positives enter the new-track term with probability
    n_i^-α, one draw per track and step (both rows of a track agree); α = 0 keeps all."""
    model = mkgcn(unseen_data, 0.5, alpha=0.5).train()
    listens = torch.bincount(torch.as_tensor(unseen_data.split["train"][:, 1]), minlength=model.n_items)
    pos = torch.cat([torch.arange(model.n_items)] * 2)
    model.step_generator = torch.Generator().manual_seed(0)
    draws = torch.stack([model.new_track_rows(pos) for _ in range(4000)]).float()
    assert torch.equal(draws[:, :model.n_items], draws[:, model.n_items:])
    seen = listens > 0
    expected = listens[seen].double() ** -0.5
    assert listens.max() >= 4 and (listens[seen] == 1).any()
    np.testing.assert_allclose(draws[:, :model.n_items].mean(0)[seen].numpy(), expected.numpy(), atol=0.03)
    assert mkgcn(unseen_data, 0.5, alpha=0.0).train().new_track_rows(pos).all()


def held_out(data: TrainData, cold: np.ndarray) -> TrainData:
    """``data`` as a ``cold-items`` export would give it: every listen of the ``cold`` tracks out
    of train/valid/test, alternately into ``valid_cold`` and ``test_cold``."""
    split = {k: v[~np.isin(v[:, 1], cold)] for k, v in data.split.items()}
    listens = np.concatenate([v for v in data.split.values()])
    theirs = np.unique(listens[np.isin(listens[:, 1], cold)], axis=0)
    split["valid_cold"], split["test_cold"] = theirs[0::2], theirs[1::2]
    return replace(data, split=split, cold_items=np.sort(cold))


def test_a_cold_monitor_selects_the_epoch_best_for_new_tracks(tmp_path):
    data = held_out(TrainData.from_export(make_export()), np.flatnonzero(np.arange(64) % 8 < 3))  # 24 > 20
    config = TrainConfig.load(overrides={"model.name": "mkgcn", "epochs": 12, "patience": 12, "lr": 0.01,
                                         "batch_size": 32, "monitor": "cold_recall@20"})
    result = fit(data, config, tmp_path, progress=False)
    cold = [h["valid_cold_recall@20"] for h in result["history"]]
    warm = [h["valid_recall@20"] for h in result["history"]]
    assert len(set(cold)) > 1 and np.argmax(cold) != np.argmax(warm)    # a warm selection would show
    assert result["best_epoch"] == np.argmax(cold) + 1
    assert result["valid"]["cold_recall@20"] == pytest.approx(max(cold))
    assert (tmp_path / "curves.png").exists()


def test_a_cold_monitor_without_new_tracks_is_one_clear_error(tmp_path):
    config = TrainConfig.load(overrides={"model.name": "mkgcn", "epochs": 1, "monitor": "cold_ndcg@20"})
    with pytest.raises(TrainError, match="--split cold-items"):
        fit(TrainData.from_export(make_export()), config, tmp_path, progress=False)
    assert not (tmp_path / "config.json").exists()


@pytest.mark.parametrize("negatives", ["shared", "ratio"])
def test_neg_unheard_false_never_draws_a_track_without_a_training_listen(negatives):
    """``neg_unheard=False``: tracks nobody listened to in training are never negatives (the
    default draws them like any other)."""
    data = TrainData.from_export(make_export())
    unheard = {3, 17, 40}
    data = replace(data, split={**data.split,
                                "train": data.train[~np.isin(data.train[:, 1], list(unheard))]})
    drawn = {}
    for flag in (True, False):
        sampler = make_sampler(data, TrainConfig(negatives=negatives, neg_ratio=64, neg_unheard=flag))
        sampler.start_epoch(np.random.default_rng(0))
        rows = torch.arange(len(data.train))
        batch = sampler.draw(rows, torch.as_tensor(data.train[:, 0]), torch.as_tensor(data.train[:, 1]),
                             torch.Generator().manual_seed(0))
        drawn[flag] = set(batch.items.flatten().tolist())
    assert drawn[True] & unheard and not drawn[False] & unheard
