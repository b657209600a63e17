"""Products with a constant sparse matrix (the normalised user–track adjacency), on every core.

PyTorch 2.2 multiplies a CSR matrix by a dense one on a single CPU thread, and autograd's
gradient of that product transposes the CSR matrix and converts it back to CSR, sorting every
non-zero, on every call. At 10M listens (9M non-zeros, d = 64) one product takes ~0.4 s and its
gradient ~2 s; here the product runs as row blocks of equal non-zeros on the threads torch is
allowed (``torch.get_num_threads()``), and the gradient of a product with a symmetric matrix is
one more such product.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import torch

_pool: tuple[int, int, ThreadPoolExecutor] | None = None
"""(pid, threads, pool): re-created in a forked child or when the thread count changes."""


def _executor(threads: int) -> ThreadPoolExecutor:
    global _pool
    if _pool is None or _pool[:2] != (os.getpid(), threads):
        _pool = (os.getpid(), threads, ThreadPoolExecutor(threads, thread_name_prefix="mmkg-spmm"))
    return _pool[2]


def csr(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Sparse CSR ``shape`` matrix of the entries ``(rows, cols, values)``, repeated entries summed."""
    coo = torch.sparse_coo_tensor(torch.stack([rows, cols]), values, shape).coalesce()
    with warnings.catch_warnings():                                       # "CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        return coo.to_sparse_csr()


def row_blocks(a: torch.Tensor, blocks: int) -> list[tuple[int, int, torch.Tensor]]:
    """``a`` (sparse CSR ``[n, m]``) as ``(first row, end row, CSR block)`` with about equal
    non-zeros each; the blocks are views of ``a``'s column and value arrays."""
    crow, col, val = a.crow_indices(), a.col_indices(), a.values()
    targets = torch.linspace(0, int(crow[-1]), blocks + 1)[1:-1].to(crow.dtype)
    bounds = [0, *torch.searchsorted(crow, targets).tolist(), a.shape[0]]
    out = []
    with warnings.catch_warnings():                                       # "CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if hi > lo:
                first, last = int(crow[lo]), int(crow[hi])
                block = torch.sparse_csr_tensor(crow[lo: hi + 1] - first, col[first:last],
                                                val[first:last], (hi - lo, a.shape[1]))
                out.append((lo, hi, block))
    return out


@torch.no_grad()
def _product(block: torch.Tensor, x: torch.Tensor, out: torch.Tensor) -> None:
    torch.mm(block, x, out=out)                       # grad mode is per thread: off here too


@torch.no_grad()
def csr_matmul(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``a @ x`` for a sparse CSR ``a`` and a dense ``x``, row blocks in parallel on the CPU
    (one block per torch thread); elsewhere (CUDA, one thread) torch's own product. Not
    differentiable: :func:`symmetric_matmul` is."""
    threads = torch.get_num_threads()
    if a.device.type != "cpu" or threads < 2 or x.dim() != 2:
        return a @ x
    out = torch.empty(a.shape[0], x.shape[1], dtype=x.dtype)
    jobs = [_executor(threads).submit(_product, block, x, out[lo:hi])
            for lo, hi, block in row_blocks(a, threads)]
    for job in jobs:
        job.result()
    return out


class _SymmetricMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ctx.a = a
        return csr_matmul(a, x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, csr_matmul(ctx.a, grad.contiguous())


def symmetric_matmul(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r""":math:`A x` for a constant **symmetric** sparse CSR :math:`A`, differentiable in
    :math:`x`: the gradient :math:`A^\top g = A g` is computed by :func:`csr_matmul` too."""
    return _SymmetricMatmul.apply(a, x)
