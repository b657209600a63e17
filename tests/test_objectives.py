"""Objectives and negative samplers: masking, the in-batch diagonal, logQ correction, seeding."""

import numpy as np
import pytest
import torch

from mmkg.train.objectives import Candidates
from mmkg.train.registry import LOSSES, NEGATIVES

TRAIN = np.array([[0, 0], [0, 1], [1, 1], [1, 2], [2, 3]])
N_ITEMS = 6


def test_masked_negatives_never_enter_any_loss():
    pos = torch.tensor([2.0, 0.5])
    neg = torch.tensor([[1.0, 3.0], [0.0, -1.0]])
    valid = torch.tensor([[True, False], [True, True]])
    junk = neg.clone()
    junk[0, 1] = 1e4                                                    # a masked "negative"
    for name, loss in zip(LOSSES.names(), LOSSES.values()):
        a = loss(Candidates(pos, neg, valid), 0.5)
        b = loss(Candidates(pos, junk, valid), 0.5)
        assert torch.isfinite(a) and torch.allclose(a, b), name


def test_softmax_is_cross_entropy_over_positive_and_valid_negatives():
    pos, neg = torch.tensor([1.0]), torch.tensor([[0.0, 2.0]])
    got = LOSSES.get("softmax")(Candidates(pos, neg, torch.ones(1, 2, dtype=torch.bool)), 0.5)
    logits = torch.tensor([1.0, 0.0, 2.0]) / 0.5
    assert torch.allclose(got, torch.logsumexp(logits, 0) - logits[0])


def test_bce_equals_the_paper_loss_when_nothing_is_masked():
    pos, neg = torch.tensor([1.0, -0.5]), torch.tensor([[0.3], [2.0]])
    got = LOSSES.get("bce")(Candidates(pos, neg, torch.ones(2, 1, dtype=torch.bool)))
    want = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.cat([pos, neg.flatten()]), torch.tensor([1.0, 1.0, 0.0, 0.0]))
    assert torch.allclose(got, want)


@pytest.mark.parametrize("name", ["shared", "in-batch"])
def test_batch_samplers_mask_the_users_own_training_positives(name):
    sampler = NEGATIVES.get(name)(TRAIN, N_ITEMS, 50, 0.0, False)
    users, pos = torch.tensor([0, 1, 2]), torch.tensor([0, 2, 3])
    out = sampler.draw(torch.arange(3), users, pos, torch.Generator().manual_seed(0))
    train = {tuple(p) for p in TRAIN}
    for b, u in enumerate(users.tolist()):
        for j, item in enumerate(out.items.tolist()):
            assert bool(out.valid[b, j]) == ((u, item) not in train)
    if name == "in-batch":                                              # the diagonal is the positive
        assert not out.valid.diagonal().any()


def test_shared_negatives_are_seeded_and_corrected_by_their_proposal_probability():
    sampler = NEGATIVES.get("shared")(TRAIN, N_ITEMS, 8, 1.0, True)          # ∝ (pop + 1)
    args = (torch.arange(2), torch.tensor([0, 1]), torch.tensor([0, 1]))
    a = sampler.draw(*args, torch.Generator().manual_seed(3))
    b = sampler.draw(*args, torch.Generator().manual_seed(3))
    assert torch.equal(a.items, b.items)
    pop = np.bincount(TRAIN[:, 1], minlength=N_ITEMS) + 1.0
    q = 8 * pop / pop.sum()
    assert torch.allclose(a.log_q_neg, torch.log(torch.as_tensor(q[a.items.numpy()], dtype=torch.float32)))


def test_softmax_matches_logsumexp_and_its_gradient_over_far_apart_logits():
    """The floor of ``logit - row max`` (exp's slow underflow path) changes neither the loss nor
    its gradient beyond float32 rounding, also where logits lie hundreds apart and where a
    masked candidate is far above the rest."""
    g = torch.Generator().manual_seed(0)
    pos, neg = torch.randn(64, generator=g) * 30, torch.randn(64, 40, generator=g) * 30
    valid = torch.rand(64, 40, generator=g) > 0.2
    neg[~valid] += 1e4
    grads = []
    for fast in (True, False):
        p, n = pos.clone().requires_grad_(), neg.clone().requires_grad_()
        if fast:
            loss = LOSSES.get("softmax")(Candidates(p, n, valid), 0.1)
        else:
            logits = torch.cat([p.unsqueeze(1), n.masked_fill(~valid, float("-inf"))], 1) / 0.1
            loss = (torch.logsumexp(logits, 1) - logits[:, 0]).mean()
        loss.backward()
        grads.append((loss.detach(), p.grad, n.grad))
    for a, b in zip(*grads):
        assert torch.isfinite(a).all() and torch.allclose(a, b, rtol=1e-4, atol=1e-5)
    assert (grads[0][2][~valid] == 0).all()
