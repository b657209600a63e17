"""``mmkg eval``: re-evaluate a run folder's selected model; the metrics table of ``mmkg train``."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("eval")
@click.option("--run", "run", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A run folder written by `mmkg train`.")
@click.option("--export", "export_path", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="ExportedGraph folder (default: the one recorded in RUN/model.pt).")
@click.option("--threads", type=click.IntRange(min=1), help="torch CPU threads (default: torch's).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate(run: Path, export_path: Path | None, threads: int | None, as_json: bool) -> None:
    """Re-evaluate RUN's selected model on validation and test; print every metric."""
    from mmkg.train.config import TrainConfig
    from mmkg.train.evaluate import evaluate as run_eval, load_run
    from mmkg.train.run_folder import RunFolder

    set_threads(threads)
    model, data = load_run(run, export_path)
    chunk = TrainConfig.of_run(RunFolder(run).file(RunFolder.CONFIG)).users_per_chunk
    valid, test = run_eval(model, data, "valid", chunk), run_eval(model, data, "test", chunk)
    if as_json:
        click.echo(json.dumps({"valid": valid, "test": test}, indent=2))
    else:
        print_metrics(valid, test)


def set_threads(threads: int | None) -> None:
    """Give torch ``threads`` CPU threads (``None``: torch's default)."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def print_metrics(valid: dict[str, float], test: dict[str, float]) -> None:
    """One table: every test metric, with its validation value beside it; without test
    metrics (an export with no test listens), the validation ones, and a caption that says so."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="metrics", caption=None if test else
                  "this export holds no test listens: no test figures")
    table.add_column("metric")
    table.add_column("valid", justify="right")
    table.add_column("test", justify="right")
    for key in test or valid:
        table.add_row(key, f"{valid.get(key, float('nan')):.4f}",
                      f"{test[key]:.4f}" if key in test else "–")
    Console().print(table)
