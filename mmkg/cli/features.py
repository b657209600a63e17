"""``mmkg features`` (compute missing multi-modal features) and ``mmkg sample-catalog``."""

from __future__ import annotations

from pathlib import Path

import click

from mmkg.cli.context import AppContext, pass_app

MEDIA_CHOICES = ("lyrics", "cover", "audio")


@click.command()
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1),
              help="Tracks per extraction batch and write transaction.")
@click.option("--only", type=click.Choice(MEDIA_CHOICES), multiple=True,
              help="Media kind(s) to process (repeatable; default: all).")
@click.option("--no-progress", is_flag=True, help="Do not draw a progress bar.")
@pass_app
def features(app: AppContext, batch_size: int, only: tuple[str, ...], no_progress: bool) -> None:
    """Compute the text, sentiment, image and audio features that tracks with media lack.

    Resumable: each batch is written as soon as it is computed, and a re-run only computes
    what is still missing.
    """
    from mmkg.ingest.features import compute_missing_features

    counts = compute_missing_features(app.driver(), app.database, batch_size=batch_size,
                                      progress=not no_progress, only=only or None)
    for name, n in counts.items():
        click.echo(f"{name:<16} {n:>8,} vectors written")
    if not any(counts.values()):
        click.echo("nothing to compute: every track with media has its features")


@click.command("sample-catalog")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--tracks", default=500, show_default=True, type=click.IntRange(min=10))
@click.option("--users", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--media/--no-media", default=True, show_default=True,
              help="Write synthesised audio, covers and lyrics under media/.")
@click.option("--interactions-per-user", default=30, show_default=True,
              type=click.IntRange(min=1), help="Mean listening-history length.")
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "parquet"]), default="auto",
              show_default=True, help="Table format (auto: Parquet above 200k interactions).")
@click.option("--force", is_flag=True, help="Replace a catalog already in OUT.")
def sample_catalog(out: Path, tracks: int, users: int, seed: int, media: bool,
                   interactions_per_user: int, fmt: str, force: bool) -> None:
    """Write a synthetic catalog (tables, media, planted taste) to OUT for `mmkg ingest`."""
    from mmkg.ingest.sample_catalog import generate_sample_catalog

    summary = generate_sample_catalog(out, tracks=tracks, users=users, seed=seed, media=media,
                                      interactions_per_user=interactions_per_user, fmt=fmt,
                                      overwrite=force, progress=True)
    rows = ", ".join(f"{n:,} {name}" for name, n in summary.rows.items())
    click.echo(f"wrote {out} ({summary.fmt}) in {summary.seconds:.1f} s: {rows}"
               + (f", {summary.media_files:,} media files" if summary.media_files else ""))
