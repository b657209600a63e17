"""One training process's place among data-parallel workers, and the collectives the training
loop needs (see :mod:`mmkg.train.distributed` for how workers are started and how a batch is
sharded)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class WorkerGroup:
    """This process's place among the training workers (``world == 1``: plain training).

    Collectives run on tensors the group owns for its whole life (:meth:`_buffer`), and the
    group must outlive ``dist.destroy_process_group()``. The reason is a lock-order hazard of
    gloo in torch 2.2: a finished collective is released on gloo's own thread; if that release
    drops the last reference to a tensor that Python created, it needs the GIL, while
    destroying the process group joins that thread with the GIL held. A temporary tensor
    (``broadcast_object_list``'s, for one) thereby hung a worker at exit about one run in three.
    """

    rank: int = 0
    world: int = 1
    _buffers: dict[tuple[int, torch.dtype], torch.Tensor] = field(default_factory=dict, compare=False,
                                                                  repr=False)

    @property
    def is_main(self) -> bool:
        """Rank 0: evaluates, checkpoints, writes the run folder."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def shard(self, rows: torch.Tensor) -> torch.Tensor:
        """This worker's slice of a global batch: the ``rank``-th of ``world`` contiguous parts
        (sizes differ by at most one)."""
        return rows if self.world == 1 else torch.tensor_split(rows, self.world)[self.rank]

    def loss_weight(self, n_local: int, n_global: int) -> float:
        """``W · n_r / N``: DDP averages gradients over workers, so weighting each worker's mean
        loss by this makes the average the gradient of the global batch's mean loss."""
        return self.world * n_local / n_global

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module whose ``forward`` computes a step's loss: ``model`` itself alone, else
        :class:`torch.nn.parallel.DistributedDataParallel` around :class:`StepLoss` (DDP
        broadcasts rank 0's parameters at construction and all-reduces gradients in backward).
        Buffers (the graph's sparse adjacency) are built identically by every worker from the
        same export and never change, so they are not broadcast. ``static_graph``: every step
        uses the same parameters (all of them, for every registered model and objective; some
        for a config that switches a part off, e.g. ``model.kg.hops = 0``), so DDP finds the
        unused ones once, in the first step, rather than searching every step's graph
        (``find_unused_parameters``, which made torch warn of its cost once per worker)."""
        step = StepLoss(model)
        if not self.distributed:
            return step
        return nn.parallel.DistributedDataParallel(step, broadcast_buffers=False, static_graph=True)

    def sum(self, *values: float) -> list[float]:
        """Element-wise sums of ``values`` over all workers."""
        if not self.distributed:
            return list(values)
        buffer = self._buffer(len(values), torch.float64)
        buffer.copy_(torch.tensor(values, dtype=torch.float64))
        dist.all_reduce(buffer)
        return buffer.tolist()

    def broadcast_ints(self, *values: int) -> list[int]:
        """Rank 0's ``values`` on every worker (the others pass placeholders of the same count)."""
        if not self.distributed:
            return list(values)
        buffer = self._buffer(len(values), torch.int64)
        buffer.copy_(torch.tensor(values, dtype=torch.int64))
        dist.broadcast(buffer, src=0)
        return buffer.tolist()

    def _buffer(self, n: int, dtype: torch.dtype) -> torch.Tensor:
        """The group's own ``n``-element tensor for collectives of that size (see the class doc)."""
        return self._buffers.setdefault((n, dtype), torch.zeros(n, dtype=dtype))


SINGLE = WorkerGroup()
"""One process, no collective calls."""


class StepLoss(nn.Module):
    """``forward(...)`` = ``model.loss(...)``: DDP synchronises gradients only through a
    module's ``forward``, and a recommender's training entry point is its ``loss`` method."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, users: torch.Tensor, pos: torch.Tensor, negatives, objective: str, l2: float,
                temperature: float) -> torch.Tensor:
        return self.model.loss(users, pos, negatives, objective, l2, temperature)
