"""``mmkg ingest PATH --format NAME``: validate a dataset folder and write it to Neo4j."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from mmkg.cli.choices import RegistryChoice
from mmkg.cli.context import AppContext, pass_app


class FiniteFloat(click.ParamType):
    """A float that is neither NaN nor infinite (``nan`` would silently drop every row)."""

    name = "number"

    def convert(self, value, param, ctx) -> float:
        import math

        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"expected a finite number, found {value!r}", param, ctx)
        return number


def _policies() -> tuple[str, ...]:
    from mmkg.ingest.validate import ON_CONFLICT

    return tuple(ON_CONFLICT)


@click.command()
@click.argument("path", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--format", "fmt", type=RegistryChoice("mmkg.ingest.readers.registry:FORMATS"), default="catalog",
              show_default=True, help="Layout of PATH (see docs/contracts.md).")
@click.option("--dry-run", is_flag=True, help="Validate and print what would be written; write nothing.")
@click.option("--skip-invalid", is_flag=True,
              help="Write the valid rows only; list the rejected ones in the reject report.")
@click.option("--reject-report", type=click.Path(path_type=Path, dir_okay=False),
              help="CSV of rejected rows and reasons [default with --skip-invalid: ./ingest-rejects.csv].")
@click.option("--rows-per-tx", "batch_size", type=click.IntRange(min=1),
              help="Rows per write transaction [default: the batch.ingest setting, 10000].")
@click.option("--rating-threshold", type=FiniteFloat(),
              help="mkgcn: ratings >= this become LISTENED [default: 4.0].")
@click.option("--on-conflict", type=RegistryChoice(_policies), default="error",
              show_default=True,
              help="Interactions repeating a (user, track) pair with different values: error, "
                   "keep the first or last row, or the largest of each value (exact repeats of "
                   "any row are merged and counted); or sum, for a listening log of one row per "
                   "play: every row of a pair adds its plays (one when it has none), the largest "
                   "ts and rating.")
@click.option("--bulk", is_flag=True,
              help="First load of an EMPTY database of the local server with Neo4j's offline "
                   "importer (much faster; the server restarts; later ingests go without it).")
@click.option("--features/--no-features", default=None,
              help="Compute missing features from media after writing [default: on for formats "
                   "with media, such as catalog].")
@pass_app
def ingest(app: AppContext, path: Path, fmt: str, dry_run: bool, skip_invalid: bool,
           reject_report: Path | None, batch_size: int | None, rating_threshold: float | None,
           on_conflict: str, bulk: bool, features: bool | None) -> None:
    """Validate the dataset in PATH, then write it to Neo4j (idempotent: re-run after a crash)."""
    from rich.console import Console

    from mmkg.ingest.pipeline import ingest as run_ingest
    from mmkg.ingest.readers import FORMATS

    try:
        FORMATS.get(fmt).check_options(rating_threshold=rating_threshold)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--rating-threshold") from e
    batch = app.settings.batch
    server = _local_server(app) if bulk and not dry_run else None
    summary = run_ingest(
        None if dry_run else app.driver(), app.database, path, fmt=fmt, dry_run=dry_run,
        skip_invalid=skip_invalid, reject_report=reject_report,
        batch_size=batch_size or batch.ingest, feature_rows=batch.feature_rows,
        feature_batch=batch.features, rating_threshold=rating_threshold, on_conflict=on_conflict,
        bulk=server, features=features, media=app.settings.media,
    )
    Console().print(summary.to_table())
    if summary.rejected:
        click.echo(f"{summary.rejected:,} row(s) rejected; reasons in {summary.report}")
    if not dry_run:
        _name_tracks_without_vector(app)


def _name_tracks_without_vector(app: AppContext) -> None:
    """When a model is current and tracks of the graph have no vector of it (new ones, or ones
    nobody had played when it was trained), say how many and what places them, and how many of
    them have nothing to be placed by: no feature, no media file, no KG relationship."""
    from mmkg.graph import load_query, read_rows
    from mmkg.recommend import NOTHING_TO_PLACE_BY
    from mmkg.schema import KG_LABEL_NAMES, MEDIA_PROPS, NON_KG_RELS

    rows = read_rows(app.driver(), app.database, load_query("current_model_tracks_without_vector"),
                     kg_labels=KG_LABEL_NAMES, non_kg=sorted(NON_KG_RELS), media=list(MEDIA_PROPS))
    if not rows or not rows[0]["missing"]:
        return
    from mmkg.train.new_tracks import INDUCTIVE_MODELS, cannot_place

    row = rows[0]
    model, run, kind, missing, bare = (row[k] for k in ("model", "runFolder", "modelType", "missing", "bare"))
    if bare == missing:
        click.echo(f"{missing:,} track(s) have no vector from the current model {model}, and none has "
                   f"media or KG facts: {NOTHING_TO_PLACE_BY.format(them='them')}")
        return
    if run and not Path(run).is_dir():
        fix = (f"`mmkg publish RUN --new-tracks` places those with media features or KG facts the "
               f"model was trained on, RUN being {model}'s run folder ({run} when it was published, "
               "gone from this machine); the next `mmkg train`, the others")
    elif kind is None or kind in INDUCTIVE_MODELS:
        fix = (f"`mmkg publish {shlex.quote(run) if run else 'RUN'} --new-tracks` places those with "
               "media features or KG facts the model was trained on; the next `mmkg train`, the others")
    else:
        fix = cannot_place(f"the current model ({kind})")
    click.echo(f"{missing:,} track(s) have no vector from the current model {model} (nobody had "
               f"listened to them when it was trained, or they arrived since): {fix}")
    if bare:
        click.echo(f"{bare:,} of them have neither media nor KG facts: "
                   f"{NOTHING_TO_PLACE_BY.format(them='them')}")


def _local_server(app: AppContext):
    """The local (Java) server that ``--bulk`` imports into, which must be the one we talk to.

    Raises:
        ConfigError: the configured URI is another server, or the server runs in Docker.
    """
    from mmkg.server import own_local_server

    return own_local_server(app.settings, "--bulk runs Neo4j's offline importer", "load",
                            "ingest without --bulk (online writes)")
