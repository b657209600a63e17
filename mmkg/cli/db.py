"""``mmkg db start|stop|status|wait|reset|init|dump|load``: the local Neo4j server, its schema,
and backups of its database."""

from __future__ import annotations

import math
from pathlib import Path

import click

from mmkg.cli.context import AppContext, pass_app


class Seconds(click.ParamType):
    """A number of seconds above 0 that is finite (``nan``, ``inf`` and ``-1`` are refused)."""

    name = "seconds"

    def convert(self, value, param, ctx) -> float:
        seconds = click.FLOAT.convert(value, param, ctx)
        if not (math.isfinite(seconds) and seconds > 0):
            self.fail(f"expected a finite number of seconds above 0, found {value!r}", param, ctx)
        return seconds


def _server(app: AppContext, verb: str):
    """The server ``mmkg db <verb>`` acts on (:func:`mmkg.server.managed_server`)."""
    from mmkg.server import managed_server

    return managed_server(app.settings, verb)


@click.group()
def db() -> None:
    """Run the local Neo4j server (Maven Central jars, or Docker when an engine runs)."""


@db.command()
@click.option("--timeout", default=180.0, show_default=True, type=Seconds(),
              help="Seconds to wait for Bolt.")
@pass_app
def start(app: AppContext, timeout: float) -> None:
    """Start Neo4j unless it already runs, and wait until Bolt answers."""
    server = _server(app, "start")
    started = server.start(timeout=timeout)
    st = server.status()
    if server.recovered:
        click.echo(server.recovered)
    click.echo(f"Neo4j {'started' if started else 'already running'} (pid {st.pid}) at {st.bolt_uri}")
    click.echo(f"Browser: {st.browser_url}")


@db.command()
@pass_app
def stop(app: AppContext) -> None:
    """Stop the local Neo4j cleanly."""
    click.echo("Neo4j stopped" if _server(app, "stop").stop() else "Neo4j was not running")


@db.command()
@click.option("--timeout", default=120.0, show_default=True, type=Seconds())
@pass_app
def wait(app: AppContext, timeout: float) -> None:
    """Block until Bolt answers (fails with the server log's last lines)."""
    _server(app, "wait").wait(timeout)
    click.echo("Neo4j is up")


@db.command()
@pass_app
def status(app: AppContext) -> None:
    """Print whether Neo4j runs, its version, URIs and log file."""
    st = _server(app, "status").status()
    click.echo(f"running:  {'yes' if st.running else 'no'}" + (f" (pid {st.pid})" if st.pid else "")
               + (f", on Bolt port {st.listening_port}, not the configured one: restart it "
                  "(`mmkg db stop`, `mmkg db start`) to move it" if st.listening_port else ""))
    click.echo(f"version:  {st.version or '-'}")
    click.echo(f"bolt:     {st.bolt_uri}")
    click.echo(f"browser:  {st.browser_url}")
    click.echo(f"log:      {st.log_file}")
    if not st.running:
        raise SystemExit(3)


@db.command()
@pass_app
def init(app: AppContext) -> None:
    """Apply cypher/schema.cypher (constraints and indexes), idempotently."""
    from mmkg.graph.schema import apply_schema, schema_statements

    names = apply_schema(app.driver(), app.database)
    own = len(schema_statements())
    others = f" (the database holds {len(names)} in all: publish adds vector indexes)" \
        if len(names) > own else ""
    click.echo(f"schema applied: the {own} constraints/indexes of cypher/schema.cypher{others}")


@db.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def reset(app: AppContext, yes: bool) -> None:
    """Delete every node, relationship, constraint and index in the database."""
    from mmkg.graph.schema import reset_database

    if not yes:
        click.confirm(f"Empty database {app.database!r} at {app.settings.neo4j.bolt_uri}?", abort=True)
    reset_database(app.driver(), app.database, batch_size=app.settings.batch.delete)
    click.echo("database emptied")


@db.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE when it exists.")
@pass_app
def dump(app: AppContext, file: Path, force: bool) -> None:
    """Back up the database to FILE (neo4j-admin database dump): graph, indexes, published models.

    The local server is stopped for it (Community dumps a stopped database only) and started
    again when it was running.
    """
    from mmkg.server import own_local_server
    from mmkg.server.backup import dump as dump_database

    if file.exists() and not force:
        raise click.UsageError(f"{file} exists: give --force to replace it")
    server = own_local_server(app.settings, "dump runs neo4j-admin", "dump",
                              "back up that server with its own tools")
    size = dump_database(server, app.database, file)
    click.echo(f"dumped database {app.database!r} to {file} ({size / 2**20:,.1f} MiB)")


@db.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def load(app: AppContext, file: Path, yes: bool) -> None:
    """Replace the database with the dump FILE (neo4j-admin database load).

    The local server is stopped for it and started again when it was running; a FILE that does
    not load leaves the database as it was.
    """
    from mmkg.server import own_local_server
    from mmkg.server.backup import load as load_database

    server = own_local_server(app.settings, "load runs neo4j-admin", "load into",
                              "restore that server with its own tools")
    if not yes:
        click.confirm(f"Replace database {app.database!r} at {app.settings.neo4j.bolt_uri} with "
                      f"{file}?", abort=True)
    load_database(server, app.database, file)
    click.echo(f"loaded {file} into database {app.database!r}")
