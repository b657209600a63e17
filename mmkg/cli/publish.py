"""``mmkg publish RUN_DIR``: write a trained run's embeddings and top-K to Neo4j as the current model."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
from click.core import ParameterSource

from mmkg.cli.context import AppContext, pass_app
from mmkg.errors import MmkgError


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--keep", default=3, show_default=True, type=click.IntRange(min=0),
              help="Previous model versions to retain; older ones are deleted.")
@click.option("--rows-per-tx", "batch_size", type=click.IntRange(min=1),
              help="Rows per write transaction (users for RECOMMENDED, nodes for vectors) "
                   "[default: the batch.publish setting, 1000].")
@click.option("--model-id", help="Model version id (default: <run folder>-<hash of embeddings.pt>).")
@click.option("--export", "export_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="The export the run was trained on (default: the one recorded in RUN_DIR).")
@click.option("--force-unlock", is_flag=True,
              help="Break the publish lock of a publish that crashed (on another host; a dead "
                   "one on this host is detected). Never while another publish runs.")
@click.option("--serve", type=click.Choice(["topk", "vectors"]), default="topk", show_default=True,
              help="How `recommend` serves the model: topk writes each user's exact top-K as "
                   "RECOMMENDED relationships (users x K writes); vectors writes only the "
                   "vectors and a track serving index, and ranks at query time. Not with "
                   "--new-tracks, which keeps the current model's mode.")
@click.option("--user-index", is_flag=True,
              help="Also build a vector index over the users' vectors (Model.user_index), for "
                   "user-to-user queries of your own; no mmkg query needs it. Not with "
                   "--new-tracks, which keeps the current model's indexes.")
@click.option("--new-tracks", is_flag=True,
              help="Only place new tracks: RUN_DIR is the current model; give the tracks ingested "
                   "since it was published a vector from its fusion and KG aggregation, and their "
                   "place in the top-K lists (no retraining; --keep is ignored). The model keeps "
                   "how it was published: not with --serve, --user-index or --trained-only.")
@click.option("--trained-only", is_flag=True,
              help="Publish the vectors of the tracks the run trained on and stop: leave the "
                   "graph's other tracks (nobody had listened to them) for a later --new-tracks. "
                   "Lists an earlier --new-tracks of this model extended get the run's own back.")
@pass_app
def publish(app: AppContext, run_dir: Path, keep: int, batch_size: int | None,
            model_id: str | None, export_dir: Path | None, force_unlock: bool, serve: str,
            user_index: bool, new_tracks: bool, trained_only: bool) -> None:
    """Write RUN_DIR's embeddings and top-K (or serving vectors) to Neo4j as the new current
    model, atomically; then give the graph's tracks the run did not train on a vector from the
    model (as --new-tracks does), unless --trained-only."""
    from mmkg.publish.writer import publish as publish_run
    from mmkg.schema import Serve
    from mmkg.train.new_tracks import cannot_place, places_new_tracks

    if new_tracks and trained_only:
        raise click.UsageError("--new-tracks places only the new tracks and --trained-only none: "
                               "give one of them")
    given = click.get_current_context().get_parameter_source("serve") != ParameterSource.DEFAULT
    ignored = [name for name, on in (("--serve", given), ("--user-index", user_index)) if on]
    if new_tracks and ignored:
        raise click.UsageError(f"--new-tracks places new tracks in the current model as it was "
                               f"published (its serving mode and indexes), so "
                               f"{' and '.join(ignored)} cannot apply: give "
                               f"{'them' if len(ignored) > 1 else 'it'} without --new-tracks")
    if new_tracks:
        _new_tracks(app, run_dir, batch_size, model_id, export_dir, force_unlock)
        return
    s = publish_run(app.driver(), app.database, run_dir, keep=keep,
                    batch_size=batch_size or app.settings.batch.publish, model_id=model_id,
                    export=export_dir, force_unlock=force_unlock, serve=Serve(serve),
                    user_index=user_index, keep_placed=not trained_only)
    # reused lists: nothing but vectors written, in a time spent mostly elsewhere: no rate
    written, rate = ((" (recommendations already written): ", "") if s.recommendations_reused else
                     (f": {s.recommendations} recommendations, ", f" ({s.rows_per_second:,.0f} rows/s)"))
    click.echo(f"model {s.model_id} is current, served from {s.serve}{written}"
               f"{s.tracks} track and {s.users} user vectors (d={s.dimension}) in {s.seconds:.1f} s"
               f"{rate}")
    if s.previous_model:  # a rollback (an older run published again) is seen here
        since = (f" (current since {s.previous_published_at:%Y-%m-%d %H:%M:%S %Z})"
                 if s.previous_published_at else "")
        click.echo(f"replacing model {s.previous_model}{since}")
    click.echo(f"phases: {s.phases_line()}")
    if s.missing_tracks or s.missing_users or s.recommendations_skipped:
        click.echo(f"skipped {s.missing_tracks} track(s), {s.missing_users} user(s) and "
                   f"{s.recommendations_skipped} recommendation(s) naming them: absent from the graph")
    if s.pruned_models:
        click.echo(f"pruned {len(s.pruned_models)} old version(s): {', '.join(s.pruned_models)}")
    if not s.tracks_without_vector:
        return
    missing = (f"{s.tracks_without_vector} track(s) of the graph have no vector from this model "
               "(nobody had listened to them when it was trained, or they arrived since)")
    if not places_new_tracks(run_dir):
        click.echo(f"{missing}: " + cannot_place("this run's model"))
    elif trained_only:
        click.echo(f"{missing}: `mmkg publish {shlex.quote(str(run_dir))} --new-tracks` places them")
    else:
        click.echo(f"{missing}: placing them from their content and KG facts")
        try:
            _new_tracks(app, run_dir, batch_size, s.model_id, export_dir, force_unlock=False)
        except MmkgError as e:
            raise type(e)(f"model {s.model_id} is current, but placing those tracks failed: {e}; "
                          f"`mmkg publish {shlex.quote(str(run_dir))} --new-tracks` completes it") from e


def _new_tracks(app: AppContext, run_dir: Path, batch_size: int | None, model_id: str | None,
                export_dir: Path | None, force_unlock: bool) -> None:
    from mmkg.publish.new_tracks import publish_new_tracks

    s = publish_new_tracks(app.driver(), app.database, run_dir,
                           batch_size=batch_size or app.settings.batch.publish, model_id=model_id,
                           export=export_dir, force_unlock=force_unlock)
    if not s.new:
        click.echo(f"model {s.model_id}: no new tracks (it was trained on every track of the graph)")
        return
    phases = ", ".join(f"{p} {t:.1f} s" for p, t in s.phase_seconds.items())
    again = f" ({s.first_vectors} for the first time)" if s.first_vectors < s.embedded else ""
    click.echo(f"model {s.model_id}: {s.embedded} of {s.new} new track(s) embedded{again}, "
               f"{s.users} user(s)' top-K rewritten ({s.recommendations} recommendations), "
               f"{s.calibrated} feature vector(s) calibrated for explanations, in "
               f"{s.seconds:.1f} s ({phases})")
    if s.without_signal:
        click.echo(s.without_signal_line())
    if s.skipped_edges:
        shown = ", ".join(f"{n} {what}" for what, n in s.skipped_edges.most_common(3))
        click.echo(f"skipped {sum(s.skipped_edges.values())} KG edge(s) of new tracks to nodes or "
                   f"relations the model never trained ({shown})")
