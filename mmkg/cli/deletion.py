"""``mmkg delete-tracks TRACK ...`` (take tracks down) and ``mmkg delete-users USER ...`` (forget
users): delete them from the graph."""

from __future__ import annotations

import click

from mmkg.cli.choices import IdsFile
from mmkg.cli.context import AppContext, pass_app


def _ids_options(kind: str):
    """The ``[KIND]...`` arguments, ``--file`` and ``--yes`` of a deletion command."""
    def decorate(command):
        command = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")(command)
        command = click.option("--file", "ids_file", type=IdsFile(),
                               help=f"Also the {kind} ids in this file, one per line.")(command)
        return click.argument("ids", nargs=-1, metavar=f"[{kind.upper()}]...")(command)
    return decorate


def _gather(app: AppContext, kind: str, ids: tuple[str, ...], ids_file: tuple[str, ...] | None,
            yes: bool, going: str) -> list[str]:
    """The ids given (arguments, then the file's), after the user confirmed (unless ``yes``)
    that the ``kind``s go with ``going``."""
    gathered = [*ids, *(ids_file or ())]
    if not gathered:
        raise click.UsageError(f"give the ids of the {kind}s to delete ({kind.upper()} ... or --file FILE)")
    if not yes:
        click.confirm(f"Delete {len(set(gathered)):,} {kind}(s), with {going}, from database "
                      f"{app.database!r} at {app.settings.neo4j.bolt_uri}?", abort=True)
    return gathered


def _report_unknown(unknown: list[str], kind: str) -> None:
    if unknown:
        shown = ", ".join(unknown[:10]) + (f" and {len(unknown) - 10:,} more" if len(unknown) > 10 else "")
        click.echo(f"{len(unknown):,} id(s) named no {kind} (deleted before, or mistyped): {shown}",
                   err=True)


@click.command("delete-tracks")
@_ids_options("track")
@pass_app
def delete_tracks(app: AppContext, ids: tuple[str, ...], ids_file: tuple[str, ...] | None,
                  yes: bool) -> None:
    """Take tracks down: delete them with their features, listens and recommendations.

    recommend, similar and the cold start stop returning them at once; a later publish skips
    them. Remove them from the catalog files too, or the next ingest brings them back.
    """
    from mmkg.ingest.deletion import take_down

    gathered = _gather(app, "track", ids, ids_file, yes, "their features, listens and recommendations")
    done = take_down(app.driver(), app.database, gathered, progress=True)
    if done.deleted:
        click.echo(f"deleted {done.deleted:,} track(s), with {done.removed['features']:,} feature "
                   f"node(s), {done.removed['listens']:,} listen(s) and "
                   f"{done.removed['recommendations']:,} recommendation(s): recommend, similar and "
                   "the cold start no longer return them; remove them from the catalog files too, "
                   "or the next ingest brings them back")
    else:
        click.echo("deleted no track")
    _report_unknown(done.unknown, "track")


@click.command("delete-users")
@_ids_options("user")
@pass_app
def delete_users(app: AppContext, ids: tuple[str, ...], ids_file: tuple[str, ...] | None,
                 yes: bool) -> None:
    """Forget users: delete them with their listens, recommendations and vectors.

    recommend knows them no more at once; a later publish skips them. Outside the database,
    exports and run folders made before still hold their listens and vectors (delete or remake
    them), and the current model was trained on their listens until the next `mmkg train`.
    Remove them from the catalog files too, or the next ingest brings them back.
    """
    from mmkg.ingest.deletion import forget_users

    gathered = _gather(app, "user", ids, ids_file, yes, "their listens, recommendations and vectors")
    done = forget_users(app.driver(), app.database, gathered, progress=True)
    if done.deleted:
        click.echo(f"deleted {done.deleted:,} user(s), with {done.removed['listens']:,} listen(s) "
                   f"and {done.removed['recommendations']:,} recommendation(s). Still to do outside "
                   "the database: remove them from the catalog files (or the next ingest brings "
                   "them back), delete or remake the exports and run folders made before (they "
                   "hold their listens and vectors), and train again (the current model learned "
                   "from their listens)")
    else:
        click.echo("deleted no user")
    _report_unknown(done.unknown, "user")
