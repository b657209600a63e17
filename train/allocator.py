"""Training's memory allocation: freed tensors stay in the process for the next step.

A training step at 10M listens allocates and frees dozens of tensors of 36–180 MB (the
``[users + tracks, d]`` activations of every layer and their gradients, the ``[B, 256]``
logits). glibc serves each block above its mmap threshold (dynamic, at most 32 MiB on 64-bit)
with a fresh ``mmap`` and unmaps it on ``free``, so every such tensor comes back as new pages
that the kernel faults in and zeroes on first touch, one 4 KiB page at a time, on every step.
Inside :func:`keep_freed_memory` glibc takes every block from its heap (``M_MMAP_MAX`` = 0) and
keeps up to :data:`KEEP_TOP` of free memory at its top (``M_TRIM_THRESHOLD``), so a step reuses
the pages the step before freed. Measured (BENCHMARKS.md, "A faster epoch at 10M"): an epoch
of 32 steps at 10M listens 158 → 91 s, unchanged at 1M, for a higher peak RSS (3.9 → 7.0 GB at
10M: freed blocks that lie below live ones stay in the heap, and torch's 64-byte aligned
requests fit a freed block of the same size only once neighbours have coalesced).
On leaving, ``malloc_trim`` hands the free memory back, and glibc serves blocks up to 32 MiB
from its heap and maps larger ones: the state its dynamic threshold converges to, which any
``mallopt`` of these parameters switches off for good (:data:`AFTER_MMAP_THRESHOLD`).

Other C libraries (macOS, musl) are left alone: the block then does nothing.
"""

from __future__ import annotations

import ctypes
import platform
from collections.abc import Iterator
from contextlib import contextmanager

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4
"""``mallopt`` parameters (``<malloc.h>``)."""
DEFAULT_MMAP_MAX = 65536
"""glibc's default of ``M_MMAP_MAX``, restored on leaving."""
AFTER_MMAP_THRESHOLD = 32 * 1024 * 1024
"""The mmap threshold set on leaving: the largest that glibc's dynamic threshold reaches (it
rises to the size of each mapped block freed, up to this), with the trim threshold at twice it,
as the dynamic rule sets it."""
KEEP_TOP = 256 * 1024 * 1024
"""Free memory glibc keeps at the top of its heap inside the block (more is handed back)."""


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


@contextmanager
def keep_freed_memory(enabled: bool = True) -> Iterator[bool]:
    """Inside the block, freed memory is reused by the process instead of unmapped (glibc
    only); yields whether that is in force. Afterwards blocks above 32 MiB are mapped again
    (:data:`AFTER_MMAP_THRESHOLD`) and the free memory is handed back to the system."""
    libc = _glibc() if enabled else None
    if libc is None:
        yield False
        return
    libc.mallopt(M_MMAP_MAX, 0)
    libc.mallopt(M_TRIM_THRESHOLD, KEEP_TOP)
    try:
        yield True
    finally:
        libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
        libc.mallopt(M_MMAP_THRESHOLD, AFTER_MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, 2 * AFTER_MMAP_THRESHOLD)
        libc.malloc_trim(0)
