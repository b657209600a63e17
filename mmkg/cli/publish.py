"""``mmkg publish RUN_DIR``: write a trained run's embeddings and top-K to Neo4j as the current model."""

from __future__ import annotations

from pathlib import Path

import click

from mmkg.cli.context import AppContext, pass_app


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--keep", default=3, show_default=True, type=click.IntRange(min=0),
              help="Previous model versions to retain; older ones are deleted.")
@click.option("--batch-size", type=click.IntRange(min=1),
              help="Rows per write transaction (users for RECOMMENDED, nodes for vectors) "
                   "[default: the batch.publish setting, 1000].")
@click.option("--model-id", help="Model version id (default: <run folder>-<hash of embeddings.pt>).")
@click.option("--export", "export_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="The export the run was trained on (default: the one recorded in RUN_DIR).")
@click.option("--force-unlock", is_flag=True,
              help="Break the publish lock of a publish that crashed (on another host; a dead "
                   "one on this host is detected). Never while another publish runs.")
@pass_app
def publish(app: AppContext, run_dir: Path, keep: int, batch_size: int | None,
            model_id: str | None, export_dir: Path | None, force_unlock: bool) -> None:
    """Write RUN_DIR's embeddings and top-K to Neo4j as the new current model, atomically."""
    from mmkg.train.publish import publish as publish_run

    s = publish_run(app.driver(), app.database, run_dir, keep=keep,
                    batch_size=batch_size or app.settings.batch.publish, model_id=model_id,
                    export=export_dir, force_unlock=force_unlock)
    reused = " (recommendations already written)" if s.recommendations_reused else ""
    click.echo(f"model {s.model_id} is current{reused}: {s.recommendations} recommendations, "
               f"{s.tracks} track and {s.users} user vectors (d={s.dimension}) in {s.seconds:.1f} s "
               f"({s.rows_per_second:,.0f} rows/s)")
    click.echo(f"phases: {s.phases_line()}")
    if s.missing_tracks or s.missing_users or s.recommendations_skipped:
        click.echo(f"skipped {s.missing_tracks} tracks, {s.missing_users} users and "
                   f"{s.recommendations_skipped} recommendations naming them: absent from the graph")
    if s.pruned_models:
        click.echo(f"pruned {len(s.pruned_models)} old version(s): {', '.join(s.pruned_models)}")
