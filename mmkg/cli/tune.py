"""``mmkg tune``: hyperparameter search on the validation split (:mod:`mmkg.train.tune`)."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

import click

from mmkg.cli.choices import RegistryChoice, run_config_options
from mmkg.cli.interrupt import Interrupted


@click.command()
@run_config_options
@click.option("--export", "export_path", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path), help="ExportedGraph folder.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Study folder: study.db (resumed when present), best.toml, trials.csv.")
@click.option("--model", type=RegistryChoice("mmkg.train.tune:SEARCH_SPACES"),
              help="Model to tune, with its defaults; = --set model.name=NAME.")
@click.option("--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Finished (complete + pruned) trials the study ends with, resumed runs included.")
@click.option("--timeout", type=click.FloatRange(min=0), help="Start no trial after this many seconds.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampler and of every trial.")
@click.option("--threads", type=click.IntRange(min=1), help="torch CPU threads (default: torch's).")
@click.option("--quiet", is_flag=True, help="No progress display.")
def tune(config_files: tuple[Path, ...], overrides: dict, export_path: Path, out: Path, model: str | None,
         trials: int, timeout: float | None, seed: int, threads: int | None, quiet: bool) -> None:
    """Search hyperparameters on validation (never test); write OUT/best.toml for `mmkg train --config`.

    The base config (--config, --set: epochs, monitor, ...) is what every trial starts from."""
    import optuna

    from mmkg.cli.evaluate import set_threads
    from mmkg.export import ExportedGraph
    from mmkg.train.config import TrainConfig
    from mmkg.train.data import TrainData
    from mmkg.train.run_folder import export_identity
    from mmkg.train.tune import STUDY
    from mmkg.train.tune import tune as run_tune

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    set_threads(threads)
    flags = {"seed": seed, **({"model.name": model} if model else {})}
    base = TrainConfig.load(config_files, {**flags, **overrides})
    if base.refit:  # it would end in best.toml, and every trial would refit on test's listens
        raise click.UsageError("refit is not searched: tune selects on validation; refit the "
                               "chosen config with `mmkg train --refit --config best.toml`")
    data = TrainData.from_export(ExportedGraph.load(export_path, mmap=True), base.model.modality_names)
    logging.getLogger(__name__).info("%s", data.modalities_line())
    try:
        result = run_tune(data, base, out, trials=trials, timeout=timeout, progress=not quiet,
                          export=export_identity(export_path))
    except KeyboardInterrupt:  # the trial it stopped is marked failed; study.db.lock is unlocked
        raise Interrupted(f"interrupted: {out / STUDY} keeps every finished trial, and re-running "
                          "the same command resumes the study") from None
    best = result.best
    params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items())
    click.echo(f"{base.model.name}: best trial #{best.number} of {result.complete + result.pruned} "
               f"({result.pruned} pruned, {result.ran} run now): valid {base.monitor} {best.value:.4f}"
               f"{'  ' + params if params else ''}")
    if result.nothing_to_search and trials > 1:
        click.echo(f"{base.model.name} has no hyperparameters to search: its one trial is the whole study")
    again = shlex.join(["mmkg", "train", "--config", str(result.config_path), "--export", str(export_path)])
    click.echo(f"→ {result.config_path} ({again} --out RUN), {result.table_path}")
