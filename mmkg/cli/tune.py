"""``mmkg tune``: hyperparameter search on the validation split (:mod:`mmkg.train.tune`)."""

from __future__ import annotations

from pathlib import Path

import click

from mmkg.cli.choices import RegistryChoice, presets
from mmkg.train.config import MONITORS


def _tunable_models() -> list[str]:
    from mmkg.train.tune import tunable_models

    return tunable_models()


@click.command()
@click.option("--export", "export_path", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path), help="ExportedGraph folder.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Study folder: study.db (resumed when present), best.toml, trials.csv.")
@click.option("--model", type=RegistryChoice(_tunable_models), help="Model to tune (default: the config's).")
@click.option("--preset", type=presets(), help="Named base config (train/configs/).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML/YAML/JSON base config, read over the preset.")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Finished (complete + pruned) trials the study ends with, resumed runs included.")
@click.option("--timeout", type=click.FloatRange(min=0), help="Start no trial after this many seconds.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampler and of every trial.")
@click.option("--monitor", type=click.Choice(MONITORS),
              help="Validation metric to maximise (default: the config's, recall@20).")
@click.option("--epochs", type=click.IntRange(min=1), help="Maximum epochs per trial.")
@click.option("--threads", type=click.IntRange(min=1), help="torch CPU threads (default: torch's).")
@click.option("--quiet", is_flag=True, help="No progress display.")
def tune(export_path: Path, out: Path, model: str | None, preset: str | None, config_file: Path | None,
         trials: int, timeout: float | None, seed: int, monitor: str | None, epochs: int | None,
         threads: int | None, quiet: bool) -> None:
    """Search hyperparameters on validation (never test); write OUT/best.toml for `mmkg train --config`."""
    import optuna
    import torch

    from mmkg.export import ExportedGraph
    from mmkg.train.config import TrainConfig
    from mmkg.train.data import TrainData
    from mmkg.train.tune import tune as run_tune

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if threads:
        torch.set_num_threads(threads)
    base = TrainConfig.load(config_file, preset=preset, model=model, seed=seed, monitor=monitor, epochs=epochs)
    data = TrainData.from_export(ExportedGraph.load(export_path, mmap=True), base.model.modality_names)
    result = run_tune(data, base, out, trials=trials, timeout=timeout, progress=not quiet)
    best = result.best
    params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items())
    click.echo(f"{base.model.model}: best trial #{best.number} of {result.complete + result.pruned} "
               f"({result.pruned} pruned, {result.ran} run now): valid {base.monitor} {best.value:.4f}"
               f"{'  ' + params if params else ''}")
    click.echo(f"→ {result.config_path} (mmkg train --config {result.config_path} --export {export_path} "
               f"--out RUN), {result.table_path}")
