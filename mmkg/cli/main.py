"""Root ``mmkg`` group: builds the :class:`AppContext` once; sub-groups join via ``add_command``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from mmkg import __version__
from mmkg.cli.context import AppContext
from mmkg.config import load_settings
from mmkg.errors import MmkgError


class MmkgGroup(click.Group):
    """A group that turns :class:`MmkgError` into one clean line and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MmkgError as e:
            raise click.ClickException(str(e)) from e


@click.group(cls=MmkgGroup)
@click.version_option(__version__, prog_name="mmkg")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="TOML settings file (default: ./mmkg.toml when present, or $MMKG_CONFIG).")
@click.option("--uri", envvar="MMKG_NEO4J_URI", help="Neo4j URI (default bolt://127.0.0.1:7687).")
@click.option("--database", envvar="MMKG_NEO4J_DATABASE", help="Neo4j database (default neo4j).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, uri: str | None, database: str | None,
        verbose: bool) -> None:
    """mmkg: a multi-modal music knowledge graph in Neo4j, and the MKGCN recommender on it."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("neo4j", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings(config_file, uri=uri, database=database)
    except MmkgError as e:
        raise click.ClickException(str(e)) from e
    app = AppContext(settings)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register() -> None:
    """Join the command modules to the root group (each keeps torch/dgl imports in its body)."""
    from mmkg.cli import db, export, features, ingest, recommend, train

    for command in (db.db, ingest.ingest, features.features, features.sample_catalog, export.export,
                    train.train, train.evaluate, recommend.publish, recommend.recommend,
                    recommend.similar):
        cli.add_command(command)


_register()
