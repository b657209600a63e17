"""``mmkg train`` as a library call: choose the config, build the data from an export folder,
fit; and ``mmkg train --refit``: retrain the selected settings on every listen for publishing.

This module never talks to Neo4j: the export folder is made beforehand (``mmkg export``, or the
``mmkg train`` command itself when given no ``--export``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mmkg.errors import RunFolderError
from mmkg.export import ExportedGraph
from mmkg.train.config import TrainConfig
from mmkg.train.data import TrainData
from mmkg.train.distributed import check_workers, fit_workers, group_from_env
from mmkg.train.fit import fit, refit
from mmkg.train.run_folder import RunFolder

log = logging.getLogger(__name__)


def resolve_config(out: Path, files: Iterable[Path] = (), overrides: Mapping[str, Any] | None = None, *,
                   resume: bool = False) -> TrainConfig:
    """The run's config: on ``--resume`` with no ``--config`` file, the one saved in the run
    folder, as saved (:meth:`TrainConfig.of_run`); otherwise the model's defaults and ``files``;
    ``overrides`` over either."""
    run, files = RunFolder(out), list(files)
    if resume and not files and run.has(RunFolder.CONFIG):
        return TrainConfig.of_run(run.file(RunFolder.CONFIG), overrides)
    return TrainConfig.load(files, overrides)


def train_run(config: TrainConfig, out: Path, export_path: Path, *, resume: bool = False,
              progress: bool = True, workers: int = 1, init_from: Path | None = None) -> dict[str, Any]:
    """Fit ``config`` on the export folder ``export_path`` and write the run folder ``out``;
    returns ``metrics.json``'s content.

    The export is memory-mapped (:meth:`ExportedGraph.load`). ``workers > 1``: data-parallel
    on that many spawned processes (:func:`mmkg.train.distributed.fit_workers`), each mapping
    the same folder. Under ``torchrun`` (``WORLD_SIZE > 1``) this process is one worker of
    torchrun's group, and only rank 0 returns the metrics (the others ``{}``). ``init_from``: a
    previous run whose weights the model starts from (:mod:`mmkg.train.warm_start`; one process
    only).

    Raises:
        TrainError: ``workers > 1`` under torchrun, more workers than CPUs, or ``init_from`` with
            several workers (checked before anything is written).
    """
    check_workers(workers, init_from=init_from is not None)
    with group_from_env() as group:
        if workers > 1:
            return fit_workers(export_path, config, out, workers, resume=resume, progress=progress)
        data = TrainData.from_export(ExportedGraph.load(export_path, mmap=True), config.model.modality_names)
        if group.is_main:
            log.info("%s", data.modalities_line())
        return fit(data, config, out, export_path=export_path, resume=resume,
                   progress=progress and group.is_main, group=group, init_from=init_from)


def refit_run(out: Path, *, export_path: Path | None = None, progress: bool = True) -> dict[str, Any]:
    """Retrain run ``out``'s config on all listens of its export (train, valid and test) for the
    run's selected epoch count, and replace ``embeddings.pt`` with the result, so that published
    top-K lists exclude every LISTENED track (held-out listens included); its parameters go to
    ``refit.pt``.

    ``model.pt`` and the ``valid``/``test`` metrics stay those of the evaluated run;
    ``metrics.json`` gains ``refit``: ``{"epochs", "listens", "seconds"}``. Returns that entry.

    Raises:
        RunFolderError: ``out`` is not a finished run folder, or its export is gone.
    """
    run = RunFolder(out)
    metrics = run.load_metrics()
    config = TrainConfig.of_run(run.file(RunFolder.CONFIG))
    export = Path(export_path) if export_path else run.load_model().export
    if export is None:
        raise RunFolderError(f"{run.path}: {RunFolder.MODEL} records no export folder; give it with --export")
    data = TrainData.from_export(ExportedGraph.load(export, mmap=True), config.model.modality_names)
    started = time.perf_counter()
    embeddings, state_dict = refit(data, config, int(metrics["best_epoch"]), progress=progress)
    run.save_model(state_dict, config=config.model_dump(), export=export,
                   epoch=int(metrics["best_epoch"]), name=RunFolder.REFIT_MODEL)
    run.save_embeddings(embeddings)
    metrics["refit"] = {"epochs": int(metrics["best_epoch"]),
                        "listens": sum(len(data.split[k]) for k in ("train", "valid", "test")),
                        "seconds": time.perf_counter() - started}
    run.save_metrics(metrics)
    return metrics["refit"]
