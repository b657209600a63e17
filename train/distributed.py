"""Data-parallel training on ``torch.distributed``: DDP over gloo (the trainer runs on CPUs).

Two ways to start the workers, one code path once they run:

- ``mmkg train --workers N`` (:func:`fit_workers`): starts ``N`` processes with
  ``torch.multiprocessing.spawn``; each memory-maps the same export folder
  (``ExportedGraph.load(path, mmap=True)``), so the interaction arrays and modality tensors
  are one copy in the page cache, shared read-only, never pickled to the workers. They
  rendezvous through a file in a private temporary folder (no port to race other programs for)
  and exchange tensors over loopback.
- ``torchrun --nproc-per-node N -m mmkg train --export DIR ...``: torchrun sets ``RANK``,
  ``WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT``; :func:`group_from_env` joins that group (each
  process loads the export folder itself; nothing reads Neo4j a second time).

Sharding (:meth:`mmkg.train.worker_group.WorkerGroup.shard`): every step draws one **global** batch of
``W · batch_size`` training interactions from the epoch's permutation (seeded by ``(seed,
epoch)``, the same on every worker) and worker ``r`` takes the ``r``-th of ``W`` contiguous,
disjoint slices. Each worker propagates over the whole graph (MKGCN's KG aggregation and
LightGCN layers need it), scores its slice against the batch's shared negatives (drawn from the
same seeded generator, so identical on every worker) and weights its mean loss by
``W · n_r / N`` so that DDP's gradient average equals the gradient of the global batch's mean
loss. Effective batch = ``W × batch_size``; one worker with ``batch_size = W · b`` follows the
same trajectory up to floating-point summation order (and the L2 term of the shared negatives,
which every worker counts). Runs are deterministic for a fixed ``W``.

Rank 0 evaluates, keeps the best state, writes checkpoints and the run folder; the
early-stopping decision is broadcast so every worker leaves the epoch loop together.
"""

from __future__ import annotations

import ctypes
import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mmkg.errors import TrainError
from mmkg.export import ExportedGraph
from mmkg.train.config import TrainConfig
from mmkg.train.data import TrainData
from mmkg.train.fit import fit
from mmkg.train.run_folder import RunFolder
from mmkg.train.worker_group import SINGLE, WorkerGroup

PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal a process gets when its parent dies (``<linux/prctl.h>``)."""
COLLECTIVE_TIMEOUT = timedelta(hours=1)
"""How long a worker waits in a collective (rank 0 evaluating while the others wait in the
epoch's broadcast included) before failing instead of hanging."""


def backend() -> str:
    """The collective backend: ``gloo``, because the trainer keeps models and batches on the
    CPU. NCCL needs CUDA tensors; it becomes the choice once models are placed on GPUs (not
    done yet: ``docs/scale.md``)."""
    return "gloo"


@contextmanager
def group_from_env() -> Iterator[WorkerGroup]:
    """Join the process group torchrun describes in ``RANK``/``WORLD_SIZE`` (``MASTER_ADDR``,
    ``MASTER_PORT``) for the ``with`` block, and leave it at the end; :data:`SINGLE` when those
    are absent or ``WORLD_SIZE`` is 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        yield SINGLE
        return
    dist.init_process_group(backend(), init_method="env://", timeout=COLLECTIVE_TIMEOUT)
    group = WorkerGroup(rank=dist.get_rank(), world=dist.get_world_size())
    try:
        yield group
    finally:
        dist.destroy_process_group()


def check_workers(workers: int, export_given: bool = True, init_from: bool = False) -> None:
    """Refuse a number of workers this machine cannot run side by side, a torchrun launch
    that would export (each worker would) or spawn workers of its own, and a warm start
    (``init_from``) on several processes.

    Raises:
        TrainError: ``workers`` is not between 1 and the number of CPUs this process may use;
            under torchrun (``WORLD_SIZE > 1``), no export folder given or ``workers > 1``;
            ``init_from`` with ``workers > 1`` or under torchrun.
    """
    torchrun = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if init_from and (workers > 1 or torchrun):
        raise TrainError("--init-from trains in one process: leave out --workers and torchrun")
    if torchrun and (not export_given or workers > 1):
        raise TrainError("under torchrun give --export DIR (made once by `mmkg export`) and no --workers")
    cpus = len(os.sched_getaffinity(0))
    if not 1 <= workers <= cpus:
        raise TrainError(f"--workers must be between 1 and {cpus} (one per CPU of this machine: "
                         f"each worker propagates over the whole graph), got {workers}")


def _die_with(parent: int) -> None:
    """Have the kernel kill this worker when its parent (``mmkg train``) dies, a ``kill -9``
    included (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``), rather than train on, writing the run
    folder, as an orphan; a parent already gone before that ends the worker at once."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(1)


def threads_per_worker(workers: int) -> int:
    """CPU threads each worker uses so that ``workers`` of them share the machine's cores."""
    return max(1, (os.cpu_count() or 1) // workers)


def fit_workers(export_path: Path, config: TrainConfig, out: Path, workers: int, *,
                resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """:func:`mmkg.train.fit.fit` on ``workers`` processes (spawned here, gloo, rendezvous
    through a file), each on the export folder ``export_path`` memory-mapped; returns
    ``metrics.json``'s content as rank 0 wrote it.

    Raises:
        TrainError: a worker failed (its error is in the message).
    """
    check_workers(workers)
    with tempfile.TemporaryDirectory(prefix="mmkg-workers-") as folder:
        rendezvous = f"file://{Path(folder) / 'rendezvous'}"
        try:
            mp.spawn(_worker, args=(workers, rendezvous, Path(export_path), config, Path(out), resume,
                                    progress, os.getpid()), nprocs=workers, join=True)
        except mp.ProcessRaisedException as e:
            last = str(e).strip().splitlines()[-1]
            raise TrainError(f"a training worker failed: {last}") from e
        except mp.ProcessExitedException as e:
            raise TrainError(f"a training worker died: {e}") from e
    return RunFolder(out).load_metrics()


def _worker(rank: int, world: int, rendezvous: str, export_path: Path, config: TrainConfig, out: Path,
            resume: bool, progress: bool, parent: int) -> None:
    _die_with(parent)
    torch.set_num_threads(threads_per_worker(world))
    data = TrainData.from_export(ExportedGraph.load(export_path, mmap=True), config.model.modality_names)
    dist.init_process_group(backend(), init_method=rendezvous, rank=rank, world_size=world,
                            timeout=COLLECTIVE_TIMEOUT)
    group = WorkerGroup(rank, world)  # outlives the process group (WorkerGroup's doc says why)
    try:
        fit(data, config, out, export_path=export_path, resume=resume,
            progress=progress and rank == 0, group=group)
    finally:
        dist.destroy_process_group()
