"""``mmkg features``: compute the multi-modal features that tracks with media files lack."""

from __future__ import annotations

import click

from mmkg.cli.choices import RegistryChoice
from mmkg.cli.context import AppContext, pass_app


def _media_kinds() -> tuple[str, ...]:
    from mmkg.ingest.features import media_kinds

    return media_kinds()


@click.command()
@click.option("--batch-size", type=click.IntRange(min=1),
              help="Tracks per extraction batch [default: the batch.features setting, 64].")
@click.option("--only", type=RegistryChoice(_media_kinds), multiple=True,
              help="Media kind(s) to process (repeatable; default: all).")
@click.option("--no-progress", is_flag=True, help="Do not draw a progress bar.")
@pass_app
def features(app: AppContext, batch_size: int | None, only: tuple[str, ...],
             no_progress: bool) -> None:
    """Compute the text, sentiment, image and audio features that tracks with media lack.

    Resumable: each batch is written as soon as it is computed, and a re-run only computes
    what is still missing.
    """
    from mmkg.ingest.features.compute import compute_missing_features

    counts = compute_missing_features(
        app.driver(), app.database, batch_size=batch_size or app.settings.batch.features,
        feature_rows=app.settings.batch.feature_rows, progress=not no_progress,
        only=only or None)
    for name, n in counts.items():
        click.echo(f"{name:<16} {n:>8,} vectors written")
    if not any(counts.values()):
        click.echo("nothing to compute: every track with media has its features")
