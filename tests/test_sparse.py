"""Products with the constant sparse adjacency: row blocks on several threads, the symmetric
gradient, and propagation against dense references."""

import numpy as np
import pytest
import torch

from mmkg.train.model.lightgcn import normalized_adjacency, propagate_layers
from mmkg.train.model.sparse import csr_matmul, row_blocks, symmetric_matmul


@pytest.fixture
def adjacency() -> torch.Tensor:
    rng = np.random.default_rng(0)
    train = np.stack([rng.integers(0, 40, 300), rng.integers(0, 25, 300)], 1)
    return normalized_adjacency(40, 25, train)


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield
    torch.set_num_threads(before)


def test_row_blocks_cover_every_row_once_with_balanced_non_zeros(adjacency):
    blocks = row_blocks(adjacency, 3)
    assert [lo for lo, _, _ in blocks][0] == 0 and blocks[-1][1] == adjacency.shape[0]
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))
    assert torch.equal(torch.cat([b.to_dense() for _, _, b in blocks]), adjacency.to_dense())
    nnz = [b._nnz() for _, _, b in blocks]
    assert max(nnz) - min(nnz) <= adjacency.shape[0]


def test_parallel_product_equals_the_dense_one(adjacency, threads):
    x = torch.randn(adjacency.shape[0], 8)
    assert torch.allclose(csr_matmul(adjacency, x), adjacency.to_dense() @ x, atol=1e-6)


def test_propagation_and_its_gradient_equal_the_dense_reference(adjacency, threads):
    x = torch.randn(adjacency.shape[0], 8, requires_grad=True)
    weights = torch.randn(adjacency.shape[0], 8)
    (propagate_layers(adjacency, x, 3) * weights).sum().backward()
    got, x.grad = x.grad, None
    dense = adjacency.to_dense()
    out, layer = x, x
    for _ in range(3):
        layer = dense @ layer
        out = out + layer
    ((out / 4) * weights).sum().backward()
    assert torch.allclose(got, x.grad, atol=1e-5)


def test_symmetric_gradient_is_the_transposed_product(adjacency):
    """The gradient of ``A x`` is ``A^T g``; for the symmetric adjacency that is ``A g``."""
    assert torch.allclose(adjacency.to_dense(), adjacency.to_dense().T)
    x = torch.randn(adjacency.shape[0], 4, requires_grad=True)
    g = torch.randn(adjacency.shape[0], 4)
    symmetric_matmul(adjacency, x).backward(g)
    assert torch.allclose(x.grad, adjacency.to_dense().T @ g, atol=1e-6)
