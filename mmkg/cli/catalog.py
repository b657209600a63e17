"""``mmkg sample-catalog OUT``: write a synthetic catalog with real media for ``mmkg ingest``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("sample-catalog")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--tracks", default=500, show_default=True, type=click.IntRange(min=10))
@click.option("--users", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--media/--no-media", default=True, show_default=True,
              help="Write synthesised audio, covers and lyrics under media/.")
@click.option("--interactions-per-user", default=30, show_default=True,
              type=click.IntRange(min=1), help="Mean listening-history length.")
@click.option("--popularity-skew", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Zipf exponent of a popularity prior over tracks (heavy-tailed listens); 0 = none.")
@click.option("--new-releases", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also write this many tracks released after every listen (media, no listens) "
                   "to OUT/new_releases, a catalog folder to ingest after training.")
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "parquet"]), default="auto",
              show_default=True, help="Table format (auto: Parquet above 200k interactions).")
@click.option("--force", is_flag=True, help="Replace a catalog already in OUT.")
def sample_catalog(out: Path, tracks: int, users: int, seed: int, media: bool,
                   interactions_per_user: int, popularity_skew: float, new_releases: int, fmt: str,
                   force: bool) -> None:
    """Write a synthetic catalog (tables, media, planted taste) to OUT for `mmkg ingest`."""
    from mmkg.sample_catalog import generate_sample_catalog

    summary = generate_sample_catalog(out, tracks=tracks, users=users, seed=seed, media=media,
                                      interactions_per_user=interactions_per_user,
                                      popularity_skew=popularity_skew,
                                      new_releases=new_releases, fmt=fmt,
                                      overwrite=force, progress=True)
    rows = ", ".join(f"{n:,} {name}" for name, n in summary.rows.items())
    click.echo(f"wrote {out} ({summary.fmt}) in {summary.seconds:.1f} s: {rows}"
               + (f", {summary.media_files:,} media files" if summary.media_files else ""))
    if summary.new_releases:
        r = summary.new_releases
        click.echo(f"wrote {r.path}: {r.rows['tracks']:,} new releases on {r.rows['albums']:,} "
                   f"new album(s), no listens"
                   + (f", {r.media_files:,} media files" if r.media_files else ""))
