"""Model layers and recommenders: shapes, masking, consistency of forward and score_all."""

import numpy as np
import pytest
import torch

from mmkg.errors import TrainError
from tests.synthetic_export import make_export
from mmkg.train.model import build_model
from mmkg.train.config import ModelConfig, TrainConfig
from mmkg.train.data import TrainData
from mmkg.train.model import KGConv, MultiModalFusion, UserAggregator
from mmkg.train.registry import FUSIONS, MODELS

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data() -> TrainData:
    return TrainData.from_export(make_export(n_users=12, n_items=20, seed=3))


@pytest.mark.parametrize("mode", FUSIONS.names())
def test_missing_modality_is_masked_not_averaged(mode):
    torch.manual_seed(0)
    fusion = MultiModalFusion(4, [3, 5], mode)
    v, a = torch.randn(6, 4), torch.randn(6, 3)
    mask = torch.tensor([[True, False]] * 6)
    out_zero = fusion(v, [a, torch.zeros(6, 5)], mask)
    out_junk = fusion(v, [a, 100 * torch.randn(6, 5)], mask)
    assert torch.allclose(out_zero, out_junk)                   # missing value never leaks in
    # equal to the same fusion computed without the second modality at all
    pa = fusion.projections[0](a)
    mean = (v + pa) / 2
    x = {"residual": v + mean, "mean": mean, "sum": v + pa, "max": torch.maximum(v, pa),
         "concat": torch.cat([v, mean], -1), "add": v + pa}[mode]
    want = x if mode == "add" else torch.tanh(fusion.out(x))
    assert torch.allclose(out_zero, want, atol=1e-6)


def test_fusion_distinguishes_items_by_their_modalities():
    torch.manual_seed(0)
    fusion = MultiModalFusion(4, [3], "residual")
    v = torch.randn(1, 4).expand(2, 4)                          # same embedding
    out = fusion(v, [torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])], torch.ones(2, 1, dtype=torch.bool))
    assert not torch.allclose(out[0], out[1])


def test_constant_modality_is_refused():
    export = make_export(n_users=6, n_items=10)
    export.modalities["audio_demo"]["values"] = torch.ones(10, 8)   # the reference code's bug
    with pytest.raises(TrainError, match="same vector"):
        TrainData.from_export(export)


def test_unknown_modality_is_refused():
    with pytest.raises(TrainError, match="unknown modality"):
        TrainData.from_export(make_export(n_users=6, n_items=10), ["nope"])


def test_kgconv_shapes_and_bad_options():
    conv = KGConv(8, "concat", "sigmoid")
    out = conv(torch.randn(3, 5, 8), torch.randn(3, 5, 4, 8), torch.randint(0, 6, (3, 5, 4)),
               torch.randn(6, 8), torch.randn(3, 8))
    assert out.shape == (3, 5, 8)
    with pytest.raises(ValueError, match="^unknown aggregator 'avg'; expected one of sum, concat, neighbor$"):
        KGConv(8, "avg")
    with pytest.raises(ValueError, match="^unknown activation 'gelu'; expected one of relu, sigmoid, tanh$"):
        KGConv(8, "sum", "gelu")


def test_user_aggregator_ignores_padding_and_handles_empty_history():
    torch.manual_seed(0)
    agg = UserAggregator(3, 8, "multi-head", heads=2).eval()
    hist = torch.randn(3, 4, 8)
    mask = torch.tensor([[True, True, False, False], [True, False, False, False], [False] * 4])
    junk = hist.clone()
    junk[~mask] = 50.0
    users = torch.arange(3)
    a, b = agg(users, hist, mask), agg(users, junk, mask)
    assert torch.allclose(a, b, atol=1e-6) and torch.isfinite(a).all()
    assert torch.equal(a[2], torch.zeros(8))                    # no history → zero vector


def test_data_index_spaces(data):
    assert data.n_entities == 20 + 8 + 4 + 2                    # tracks first, then the others
    assert data.n_relations == 3 + 1 and data.self_relation == 3
    assert data.kg[:, [0, 2]].max() < data.n_entities
    assert len(data.kg) == 2 * (20 + 20 + 2)                    # both directions


@pytest.mark.parametrize("name", ["mkgcn", "mkgcn-paper", "kgcn", "pop", "bpr", "lightgcn"])
@pytest.mark.parametrize("hops", [1, 2])
def test_forward_shapes_and_score_all_agree(data, name, hops):
    torch.manual_seed(0)
    config = ModelConfig(name=name, dim=8, kg={"hops": hops, "neighbours": 3,
                                               "aggregator": "concat" if hops == 2 else "sum"})
    model = build_model(config, data, np.random.default_rng(0)).eval()
    users, items = torch.tensor([0, 1, 5, 11]), torch.tensor([0, 7, 19, 3])
    with torch.no_grad():
        logits, everything = model(users, items), model.score_all(users)
    assert logits.shape == (4,) and everything.shape == (4, data.n_items)
    assert torch.allclose(everything[torch.arange(4), items], logits, atol=1e-5)
    track, user = model.get_embedding()
    assert track.shape[0] == data.n_items and user.shape[0] == data.n_users


def test_kgcn_turns_modalities_off(data):
    model = build_model(TrainConfig.load(overrides={"model.name": "kgcn"}).model, data, np.random.default_rng(0))
    assert model.fusion is None and not model.user_agg.uses_history
    mkgcn = build_model(ModelConfig(), data, np.random.default_rng(0))
    assert mkgcn.fusion is not None and len(mkgcn.fusion.projections) == 2


def test_recommend_excludes_items(data):
    model = build_model(ModelConfig(name="pop"), data, np.random.default_rng(0))
    rows, items = torch.meshgrid(torch.arange(2), torch.arange(15), indexing="ij")
    items, scores = model.recommend(torch.tensor([0, 1]), 5, (rows.reshape(-1), items.reshape(-1)))
    assert items.shape == (2, 5) and (items >= 15).all()
    assert (scores[:, :-1] >= scores[:, 1:]).all()
    best = torch.topk(model.score_all(torch.tensor([0])), 5).values[0]
    assert torch.equal(model.recommend(torch.tensor([0]), 5)[1][0], best)
    only = torch.zeros(data.n_items, dtype=torch.bool)
    only[[3, 8, 12]] = True
    items, scores = model.recommend(torch.tensor([0, 1]), 5, candidates=only)
    assert set(items[:, :3].flatten().tolist()) == {3, 8, 12} and torch.isinf(scores[:, 3:]).all()


def test_config_rejects_bad_combinations():
    with pytest.raises(TrainError, match=r"model.dim \(10\) must be a multiple of model.user.heads \(3\)"):
        TrainConfig.load(overrides={"model.name": "mkgcn-paper", "model.dim": 10, "model.user.heads": 3})


def test_training_leaves_the_scored_item_out_of_the_history(data):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="mkgcn-paper", dim=8, kg={"neighbours": 3}), data, np.random.default_rng(0))
    user = int(data.train[0, 0])
    slots = model.history_mask[user].nonzero().flatten()
    item = model.history[user, slots[0]].clone()
    users, items = torch.tensor([user]), item.view(1)
    with torch.no_grad():
        model.train()
        with_item = model(users, items)
        model.history_mask[user, slots[0]] = False                # the same history without it
        without_item = model(users, items)
        model.eval()
        assert torch.allclose(with_item, without_item)
        model.history_mask[user, slots[0]] = True
        assert not torch.allclose(model(users, items), with_item)   # evaluation uses it all


def test_standardize_centres_present_columns_and_zeroes_the_rest():
    from mmkg.train.data import standardize

    values = torch.tensor([[1.0, 5.0, 300.0], [3.0, 5.0, 100.0], [9.0, 9.0, 9.0]])
    mask = torch.tensor([True, True, False])
    out = standardize(values, mask)
    assert torch.allclose(out[:2, 0].mean(), torch.tensor(0.0))
    assert torch.allclose(out[:2, 2].mean(), torch.tensor(0.0))
    assert out[0, 0] < 0 < out[1, 0] and out[0, 2] > 0 > out[1, 2]
    assert torch.all(out[:, 1] == 0)  # constant over the present rows
    assert torch.all(out[2] == 0)  # the track without this modality
    assert torch.allclose(out[:2, 0].abs(), out[:2, 2].abs())  # scale-free: MFCC-sized = tiny columns


def test_every_registered_model_builds_from_its_defaults_and_ranks_every_track(data):
    for name in MODELS.names():
        config = TrainConfig.load(overrides={"model.name": name, "model.dim": 8}).model
        if name == "fastrp":                                    # needs vectors the export lacks here
            with pytest.raises(TrainError, match="--fastrp"):
                build_model(config, data, np.random.default_rng(0))
            continue
        scores = build_model(config, data, np.random.default_rng(0)).eval().score_all(torch.arange(3))
        assert scores.shape == (3, data.n_items) and torch.isfinite(scores).all(), name


def test_vector_models_score_with_the_vectors_they_publish(data):
    """Publish writes get_embedding(); a Cypher dot product of those must be the model's score."""
    for name in ("mkgcn", "lightgcn", "bpr", "pop"):
        torch.manual_seed(0)
        model = build_model(ModelConfig(name=name, dim=8), data, np.random.default_rng(0)).eval()
        track, user = model.get_embedding()
        users = torch.arange(data.n_users)
        assert torch.allclose(user @ track.T, model.score_all(users), atol=1e-5)


def test_mkgcn_kg_aggregation_mixes_kg_neighbours_only(data):
    """Items that share KG neighbours start closer than the KG-free embeddings say; hops = 0
    leaves the item inputs untouched; no user or interaction enters the KG step."""
    from mmkg.train.model.kg_aggregator import RelationalKGAggregator

    kg = np.array([[0, 0, 2], [2, 0, 0], [1, 0, 2], [2, 0, 1]])          # items 0, 1 share entity 2
    h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [5.0, 5.0]])  # entity 3 is isolated
    rel = torch.ones(1, 2)
    assert torch.equal(RelationalKGAggregator(kg, 4, 0)(h, rel), h)
    out = RelationalKGAggregator(kg, 4, 2)(h, rel)
    assert torch.equal(out[3], h[3])                                    # isolated: unchanged
    cos = torch.nn.functional.cosine_similarity
    assert cos(out[0], out[1], dim=0) > cos(h[0], h[1], dim=0)


def test_mkgcn_without_modalities_or_kg_is_lightgcn(data):
    """hops 0, no modalities and no ID dropout: the same propagation as LightGCN over the same
    graph."""
    config = ModelConfig(name="mkgcn", dim=8, kg={"hops": 0}, modalities=False, layers=2, id_dropout=0.0)
    torch.manual_seed(0)
    mk = build_model(config, data, np.random.default_rng(0))
    lg = build_model(config.model_copy(update={"name": "lightgcn"}), data, np.random.default_rng(0))
    with torch.no_grad():
        lg.user.weight.copy_(mk.user.weight)
        lg.item.weight.copy_(mk.entity.weight[: data.n_items])
    a, b = mk.propagate(), lg.propagate()
    assert torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1])


@pytest.mark.parametrize("gate", [0.0, 1.5])
def test_kg_aggregation_and_its_gradients_equal_the_edge_by_edge_formula(gate):
    """The sparse-product aggregation equals ``h_e = mean_{(r,t)} r ⊙ h_t`` summed edge by edge
    (repeated edges, several relations, an isolated entity), each hop weighted by the degree gate
    ``g_e = d_e / (d_e + c)`` (c = 0: 1), and so do the gradients of h and of the relation
    vectors."""
    from mmkg.train.model.kg_aggregator import RelationalKGAggregator

    rng = np.random.default_rng(3)
    kg = np.stack([rng.integers(0, 11, 60), rng.integers(0, 4, 60), rng.integers(0, 11, 60)], 1)
    kg = kg[kg[:, 0] != 11 - 1]                                         # entity 10: no out-edges
    h0, r0 = torch.randn(11, 6), torch.randn(5, 6)                       # relation 4 unused
    weights = torch.randn(11, 6)
    grads = []
    for fast in (True, False):
        h, rel = h0.clone().requires_grad_(), r0.clone().requires_grad_()
        if fast:
            out = RelationalKGAggregator(kg, 11, 2, gate)(h, rel)
        else:
            head, r, tail = (torch.as_tensor(kg[:, k]) for k in range(3))
            degree = torch.bincount(head, minlength=11).float()
            g = (degree / (degree + gate)).unsqueeze(1) if gate else 1.0
            out, x = h, h
            for _ in range(2):
                y = torch.zeros_like(x).index_add(0, head, rel[r] * x[tail]) / degree.clamp(min=1).unsqueeze(1)
                x = torch.where((degree == 0).unsqueeze(1), h, y)
                out = out + g * x
            out = out / (1 + g * 2)
        (out * weights).sum().backward()
        grads.append((out.detach(), h.grad, rel.grad))
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(grads[0][0][10], h0[10])                      # isolated: its own vector
    if not gate:                                                         # off: exactly the layer mean
        assert torch.equal(grads[0][0][10], (h0[10] + h0[10] + h0[10]) / 3)
