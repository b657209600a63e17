"""``mmkg ingest PATH --format NAME``: validate a dataset folder and write it to Neo4j."""

from __future__ import annotations

from pathlib import Path

import click

from mmkg.cli.choices import RegistryChoice
from mmkg.cli.context import AppContext, pass_app


def _formats() -> tuple[str, ...]:
    from mmkg.ingest.readers import format_names

    return format_names()


@click.command()
@click.argument("path", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--format", "fmt", type=RegistryChoice(_formats), default="catalog",
              show_default=True, help="Layout of PATH (see docs/contracts.md).")
@click.option("--dry-run", is_flag=True, help="Validate and print what would be written; write nothing.")
@click.option("--skip-invalid", is_flag=True,
              help="Write the valid rows only; list the rejected ones in the reject report.")
@click.option("--reject-report", type=click.Path(path_type=Path, dir_okay=False),
              help="CSV of rejected rows and reasons [default with --skip-invalid: ./ingest-rejects.csv].")
@click.option("--batch-size", type=click.IntRange(min=1),
              help="Rows per write transaction [default: the batch.ingest setting, 10000].")
@click.option("--rating-threshold", type=float,
              help="mkgcn: ratings >= this become LISTENED [default: 4.0].")
@click.option("--features/--no-features", default=None,
              help="Compute missing features from media after writing [default: on for formats "
                   "with media, such as catalog].")
@pass_app
def ingest(app: AppContext, path: Path, fmt: str, dry_run: bool, skip_invalid: bool,
           reject_report: Path | None, batch_size: int | None, rating_threshold: float | None,
           features: bool | None) -> None:
    """Validate the dataset in PATH, then write it to Neo4j (idempotent: re-run after a crash)."""
    from rich.console import Console

    from mmkg.ingest.pipeline import ingest as run_ingest
    from mmkg.ingest.readers import catalog_format

    try:
        catalog_format(fmt).check_options(rating_threshold=rating_threshold)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--rating-threshold") from e
    batch = app.settings.batch
    summary = run_ingest(
        None if dry_run else app.driver(), app.database, path, fmt=fmt, dry_run=dry_run,
        skip_invalid=skip_invalid, reject_report=reject_report,
        batch_size=batch_size or batch.ingest, feature_rows=batch.feature_rows,
        feature_batch=batch.features, rating_threshold=rating_threshold, features=features,
    )
    Console().print(summary.to_table())
    if summary.rejected:
        click.echo(f"{summary.rejected:,} row(s) rejected; reasons in {summary.report}")
