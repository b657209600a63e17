"""``mmkg delete-tracks TRACK ...``: take tracks down (delete them from the graph)."""

from __future__ import annotations

from pathlib import Path

import click

from mmkg.cli.context import AppContext, pass_app


@click.command("delete-tracks")
@click.argument("tracks", nargs=-1, metavar="[TRACK]...")
@click.option("--file", "ids_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also the track ids in this file, one per line.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def delete_tracks(app: AppContext, tracks: tuple[str, ...], ids_file: Path | None, yes: bool) -> None:
    """Take tracks down: delete them with their features, listens and recommendations.

    recommend, similar and the cold start stop returning them at once; a later publish skips
    them. Remove them from the catalog files too, or the next ingest brings them back.
    """
    from mmkg.ingest.takedown import take_down

    ids = list(tracks)
    if ids_file is not None:
        ids += [line.strip() for line in ids_file.read_text().splitlines() if line.strip()]
    if not ids:
        raise click.UsageError("give the ids of the tracks to delete (TRACK ... or --file FILE)")
    if not yes:
        click.confirm(f"Delete {len(set(ids)):,} track(s), with their features, listens and "
                      f"recommendations, from database {app.database!r} at "
                      f"{app.settings.neo4j.bolt_uri}?", abort=True)
    done = take_down(app.driver(), app.database, ids, progress=True)
    if done.deleted:
        click.echo(f"deleted {done.deleted:,} track(s), with {done.features:,} feature node(s), "
                   f"{done.listens:,} listen(s) and {done.recommendations:,} recommendation(s): "
                   "recommend, similar and the cold start no longer return them; remove them from "
                   "the catalog files too, or the next ingest brings them back")
    else:
        click.echo("deleted no track")
    if done.unknown:
        shown = ", ".join(done.unknown[:10]) + (f" and {len(done.unknown) - 10:,} more"
                                                if len(done.unknown) > 10 else "")
        click.echo(f"{len(done.unknown):,} id(s) named no track (deleted before, or mistyped): {shown}",
                   err=True)
