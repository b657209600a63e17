"""``mmkg features``: compute the multi-modal features that tracks with media lack or hold stale."""

from __future__ import annotations

import click

from mmkg.cli.choices import RegistryChoice
from mmkg.cli.context import AppContext, pass_app


@click.command()
@click.option("--tracks-per-job", "batch_size", type=click.IntRange(min=1),
              help="Tracks per extraction job [default: the batch.features setting, 64].")
@click.option("--only", type=RegistryChoice("mmkg.ingest.features.registry:MEDIA_KINDS"), multiple=True,
              help="Media kind(s) to process (repeatable; default: all).")
@click.option("--recompute", is_flag=True,
              help="Recompute every feature of those kinds, even the fresh ones.")
@click.option("--workers", type=click.IntRange(min=1),
              help="Worker processes [default: the media.workers setting, MMKG_MEDIA_WORKERS, "
                   "whose 0 means one per CPU].")
@click.option("--drop-missing", is_flag=True,
              help="For a track whose lyrics, cover or audio file is gone, remove its path and its "
                   "features of that media instead of skipping it with a warning (how a catalog "
                   "takes a track's media away: an empty cell keeps it).")
@click.option("--no-progress", is_flag=True, help="Do not draw a progress bar.")
@click.option("--list", "list_only", is_flag=True,
              help="List the features there are, which ones the media.features setting computes, "
                   "and how many vectors of each the database holds; compute nothing.")
@pass_app
def features(app: AppContext, batch_size: int | None, only: tuple[str, ...], recompute: bool,
             workers: int | None, drop_missing: bool, no_progress: bool, list_only: bool) -> None:
    """Compute the text, sentiment, image and audio features that tracks with media lack.

    Which features: the media.features setting (MMKG_MEDIA_FEATURES); a registered one it leaves
    out (another recipe of the same media, e.g. lyrics_static for lyrics_minilm) is removed.

    A feature is recomputed when its file's path, size or content changed since (or with
    --recompute). Extraction runs on worker processes; each chunk is written as soon as it is
    computed, so a re-run only computes what is still missing. Files over the size caps
    (media.max_*) or not decoding are skipped with a warning naming them.
    """
    if list_only:
        _list(app)
        return
    from mmkg.ingest.features.compute import compute_missing_features

    counts = compute_missing_features(
        app.driver(), app.database, batch_size=batch_size or app.settings.batch.features,
        feature_rows=app.settings.batch.feature_rows, progress=not no_progress,
        only=only or None, recompute=recompute, settings=app.settings.media, workers=workers,
        drop_missing=drop_missing)
    for name, n in counts.items():
        click.echo(f"{name:<16} {n:>8,} vectors written")
    if counts.dropped:
        click.echo(f"{counts.dropped:,} media file(s) gone: dropped from their tracks with their "
                   "features")
    if counts.skipped:
        click.echo(f"{counts.skipped:,} media file(s) skipped (see above): their features are "
                   "still missing or stale")
    elif not any(counts.values()) and not counts.dropped:
        click.echo("nothing to compute: every track with media has fresh features")


def _list(app: AppContext) -> None:
    """Print :func:`~mmkg.ingest.features.compute.feature_inventory`, one feature a line."""
    from mmkg.ingest.features.compute import feature_inventory

    rows = [("feature", "media", "modality", "dim", "computed", "vectors", "older", "version")]
    for f in feature_inventory(app.driver(), app.database, app.settings.media):
        if f.extractor is None:
            rows.append((f.name, "-", "-", "-", "not registered", f"{f.current:,}", "-", "-"))
            continue
        spec = f.extractor.spec
        computed = ("yes" if f.chosen else "no") + ("" if f.extractor.default else " (opt-in)")
        rows.append((f.name, spec.media, str(spec.kind), str(spec.dim), computed, f"{f.current:,}",
                     f"{f.other_versions:,}", spec.version))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
