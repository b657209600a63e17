"""Root ``mmkg`` group: builds the :class:`AppContext` once; sub-groups join via ``add_command``.

Every error a user can cause ends as one line on stderr and a non-zero exit status, never a
traceback (``-v`` logs the traceback too):

- :class:`~mmkg.errors.MmkgError` (bad catalog, unknown user, missing run folder, ...) → its
  message, status 1 (a catalog with several problems: a summary line, then one line per problem);
- Neo4j driver errors that escape a command (server gone, credentials, a refused query) → a
  one-line explanation, status 1;
- a file the command cannot read or write (:class:`OSError`) → ``path: reason``, status 1;
- usage errors (unknown option or choice, missing argument) → click's message on one line with
  a pointer to ``--help``, status 2;
- Ctrl-C in ``ingest``, ``features``, ``publish`` → one line saying that re-running the same
  command completes it, status 130 (:data:`RERUN_COMPLETES`);
- stdout's reader gone (``mmkg db status | head -1``) → nothing more, status 141 (SIGPIPE's).

Every command runs under the umask 077 (:func:`mmkg.files.owner_only`): what it writes (run and
export folders, the importer's CSV files, reports) holds user data and is owner-only.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click
from click.exceptions import NoArgsIsHelpError

from mmkg import __version__
from mmkg.cli.context import AppContext
from mmkg.cli.interrupt import Interrupted
from mmkg.config import load_settings
from mmkg.errors import MmkgError
from mmkg.terminal import printable
from mmkg.files import owner_only

log = logging.getLogger(__name__)


class PrintableFormatter(logging.Formatter):
    """Log lines with the characters a terminal would act on escaped (:func:`printable`):
    warnings name files and values from data."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def own_info_only(record: logging.LogRecord) -> bool:
    """Handler filter: mmkg's INFO lines and every library's warnings, not the libraries' INFO
    (ONNX Runtime's quantiser logs dozens of lines on the root logger when a machine builds the
    lyrics model)."""
    return record.levelno >= logging.WARNING or record.name.split(".")[0] == "mmkg"


RERUN_COMPLETES = frozenset({"ingest", "features", "publish"})
"""Commands that Ctrl-C leaves in a state the same command completes (ingest MERGEs, and
``--bulk`` leaves the database empty with its schema; features computes only what is still due;
publish releases its lock and writes a new version afresh): their ``KeyboardInterrupt`` is that
one line, exit status 130. ``train`` and ``tune`` say more themselves
(:class:`~mmkg.cli.interrupt.Interrupted`)."""


class MmkgGroup(click.Group):
    """The root group: turns every user-caused error into one line (see the module docstring)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            raise _one_line_usage(e) from e

    def invoke(self, ctx: click.Context):
        try:
            with owner_only():  # run and export folders, reports: user data, 0700/0600
                return super().invoke(ctx)
        except click.UsageError as e:
            raise _one_line_usage(e) from e
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            if ctx.invoked_subcommand not in RERUN_COMPLETES:
                raise  # click's "Aborted!"
            raise Interrupted("interrupted: re-running the same command completes it") from None
        except BrokenPipeError:  # the reader went away (`mmkg db status | head -1`): stop quietly,
            _silence_stdout()    # as a shell tool killed by SIGPIPE does
            ctx.exit(BROKEN_PIPE_STATUS)
        except Exception as e:
            message = _user_error(e, ctx)
            if message is None:
                raise
            log.debug("%s", message, exc_info=True)
            raise click.ClickException(printable(message)) from e


BROKEN_PIPE_STATUS = 128 + 13
"""The exit status when stdout's reader went away: a shell's for a process SIGPIPE killed."""


def _silence_stdout() -> None:
    """Point stdout at ``/dev/null``, so that flushing it at exit cannot fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _one_line_usage(error: click.UsageError) -> click.UsageError:
    """``error`` without click's usage block: one line, with a pointer to the command's help."""
    if isinstance(error, NoArgsIsHelpError) or error.ctx is None:
        return error
    plain = click.UsageError(
        printable(f"{error.format_message()} (see '{error.ctx.command_path} --help')"))
    plain.exit_code = error.exit_code
    return plain


def _user_error(error: Exception, ctx: click.Context) -> str | None:
    """The one-line message of an error the user caused, or ``None`` for a bug."""
    if isinstance(error, MmkgError):
        return str(error)
    if isinstance(error, OSError):
        return f"{error.filename}: {error.strerror}" if error.filename else str(error)
    neo4j = sys.modules.get("neo4j.exceptions")  # loaded if and only if the driver was used
    if neo4j is None or not isinstance(error, neo4j.GqlError):
        return None
    settings = ctx.obj.settings if isinstance(ctx.obj, AppContext) else None
    uri = settings.neo4j.bolt_uri if settings else "the server"
    if isinstance(error, neo4j.AuthError):
        from mmkg.graph.driver import rejected_credentials
        return rejected_credentials(settings) if settings else "Neo4j rejected the credentials"
    if isinstance(error, (neo4j.ServiceUnavailable, neo4j.SessionExpired)):
        return f"lost the connection to Neo4j at {uri}: is it running? (`mmkg db status`)"
    text = error.message if isinstance(error, neo4j.Neo4jError) else str(error)
    return "Neo4j error: " + " ".join(str(text).split())


@click.group(cls=MmkgGroup)
@click.version_option(__version__, prog_name="mmkg")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="TOML settings file (default: ./mmkg.toml when present, or $MMKG_CONFIG).")
@click.option("--uri", envvar="MMKG_NEO4J_URI", help="Neo4j URI (default bolt://127.0.0.1:7687).")
@click.option("--database", envvar="MMKG_NEO4J_DATABASE", help="Neo4j database (default neo4j).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages (and tracebacks of errors).")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, uri: str | None, database: str | None,
        verbose: bool) -> None:
    """mmkg: a multi-modal music knowledge graph in Neo4j, and the MKGCN recommender on it."""
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    if not verbose:
        stderr.addFilter(own_info_only)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[stderr])
    # The driver logs a failed routing-table fetch (neo4j:// to a server that is down) at ERROR
    # before raising; the raised error is what the user sees, as one line.
    logging.getLogger("neo4j").setLevel(logging.WARNING if verbose else logging.CRITICAL)
    settings = load_settings(config_file, uri=uri, database=database)
    app = AppContext(settings)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register() -> None:
    """Join the command modules to the root group (each keeps torch/dgl imports in its body)."""
    from mmkg.cli import (catalog, db, deletion, evaluate, export, features, ingest, publish, recommend,
                          train, tune)

    for command in (db.db, catalog.sample_catalog, ingest.ingest, features.features, export.export,
                    train.train, evaluate.evaluate, tune.tune, publish.publish, recommend.recommend,
                    recommend.similar, deletion.delete_tracks, deletion.delete_users):
        cli.add_command(command)


_register()
