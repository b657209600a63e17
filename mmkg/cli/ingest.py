"""``mmkg ingest PATH --format catalog|kgcn|mkgcn``: validate a dataset folder and write it to Neo4j."""

from __future__ import annotations

from pathlib import Path

import click

from mmkg.cli.context import AppContext, pass_app


@click.command()
@click.argument("path", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["catalog", "kgcn", "mkgcn"]), default="catalog",
              show_default=True, help="Layout of PATH (see docs/contracts.md).")
@click.option("--dry-run", is_flag=True, help="Validate and print what would be written; write nothing.")
@click.option("--skip-invalid", is_flag=True,
              help="Write the valid rows only; list the rejected ones in the reject report.")
@click.option("--reject-report", type=click.Path(path_type=Path, dir_okay=False),
              help="CSV of rejected rows and reasons [default with --skip-invalid: ./ingest-rejects.csv].")
@click.option("--batch-size", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Rows per write transaction.")
@click.option("--rating-threshold", type=float,
              help="mkgcn: ratings >= this become LISTENED [default: 4.0].")
@click.option("--features/--no-features", default=None,
              help="Compute missing features from media after writing [default: on for catalog].")
@pass_app
def ingest(app: AppContext, path: Path, fmt: str, dry_run: bool, skip_invalid: bool,
           reject_report: Path | None, batch_size: int, rating_threshold: float | None,
           features: bool | None) -> None:
    """Validate the dataset in PATH, then MERGE it into Neo4j (idempotent: re-run after a crash)."""
    from rich.console import Console

    from mmkg.ingest.pipeline import ingest as run_ingest

    if rating_threshold is not None and fmt != "mkgcn":
        raise click.BadParameter("applies to --format mkgcn only", param_hint="--rating-threshold")
    summary = run_ingest(
        None if dry_run else app.driver(), app.database, path, fmt=fmt, dry_run=dry_run,
        skip_invalid=skip_invalid, reject_report=reject_report, batch_size=batch_size,
        rating_threshold=rating_threshold, features=features,
    )
    Console().print(summary.to_table())
    if summary.rejected:
        click.echo(f"{summary.rejected:,} row(s) rejected; reasons in {summary.report}")
