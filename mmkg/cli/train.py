"""``mmkg train``: fit a recommender on an export (made here from the database when not given)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from mmkg.cli.choices import RegistryChoice, run_config_options
from mmkg.cli.context import AppContext, pass_app
from mmkg.cli.evaluate import print_metrics, set_threads
from mmkg.cli.export import unlistened_line
from mmkg.cli.interrupt import Interrupted


@click.command()
@run_config_options
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run folder: config.json, metrics.json, model.pt, curves.png, embeddings.pt.")
@click.option("--export", "export_path", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="ExportedGraph folder; default: export the database into OUT/export (afresh on every "
                   "run but --resume, which goes on with the export it started on).")
@click.option("--model", type=RegistryChoice("mmkg.train.registry:MODELS"),
              help="Registered model, with its defaults (train/configs/models/NAME.toml); = --set model.name=NAME.")
@click.option("--seed", type=int, help="Seed of the model: weights, sampling, batch order; = --set seed=N.")
@click.option("--split-seed", type=int, default=0, show_default=True,
              help="Seed of the split of the export made into OUT/export (recorded in its manifest.json).")
@click.option("--all-tracks", is_flag=True,
              help="Export tracks nobody has listened to into OUT/export too. By default they are "
              "left out: training only ever draws them as negatives, which sinks them to the bottom "
              "of every list; `mmkg publish OUT` places them from their content and KG facts "
              "instead (mkgcn can; other models leave them without a vector).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Data-parallel worker processes (DDP, gloo on loopback); each takes batch_size "
              "positives per step. Or launch with torchrun.")
@click.option("--threads", type=click.IntRange(min=1), help="torch CPU threads (default: torch's).")
@click.option("--resume", is_flag=True,
              help="Continue from OUT/checkpoint.pt (with OUT/config.json); with no checkpoint "
                   "there yet, start afresh, so one command line serves a job that may restart.")
@click.option("--refit", is_flag=True,
              help="After selection and test, retrain the same config on every listen for the "
              "selected epoch count; OUT/embeddings.pt (what publish writes) then excludes every "
              "listened track. Metrics stay the evaluated run's. = --set refit=true (recorded in "
              "OUT/config.json: publish refuses the run until the refit has finished).")
@click.option("--init-from", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Start from the weights of this earlier run (users, tracks and KG nodes matched "
              "by id; new ones freshly initialised): a daily refresh of a few epochs (defaults: "
              "train/configs/warm_start.toml, epochs 10, lr 1e-3).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_app
def train(app: AppContext, config_files: tuple[Path, ...], overrides: dict, out: Path,
          export_path: Path | None, model: str | None, seed: int | None, split_seed: int,
          all_tracks: bool, workers: int,
          threads: int | None, resume: bool, refit: bool, init_from: Path | None, quiet: bool) -> None:
    """Train a recommender and write its run folder OUT (selection and test on the export's split)."""
    from mmkg.train.distributed import check_workers
    from mmkg.train.run_folder import RunFolder, out_folder, resume_command
    from mmkg.train.runner import refit_run, resolve_config, train_run

    check_workers(workers, export_given=export_path is not None,  # before the run folder is made
                  init_from=init_from is not None)
    if all_tracks and export_path is not None:
        raise click.UsageError("--all-tracks shapes the export train makes; with --export, the "
                               "export decided (`mmkg export` keeps every track unless --listened)")
    if init_from is not None and init_from.resolve() == out.resolve():
        raise click.UsageError("--init-from and --out are one folder: the run would replace the "
                               "weights it starts from; train into a new --out")
    set_threads(threads)
    if init_from is not None and not resume:
        from mmkg.train.warm_start import DEFAULTS

        config_files = (DEFAULTS, *config_files)
    flags = {"model.name": model, "seed": seed, "refit": True if refit else None}
    config = resolve_config(out, config_files, {**{k: v for k, v in flags.items() if v is not None},
                                                **overrides}, resume=resume)
    if init_from is not None:
        from mmkg.train.warm_start import check_previous_run

        check_previous_run(init_from, config.model.name)  # before the export
    left_out = 0  # tracks nobody has listened to, left out of the export made here
    given_export = export_path
    options = [*(["--workers", str(workers)] if workers > 1 else []),
               *(["--init-from", str(init_from)] if init_from is not None else [])]
    step = "export"
    try:
        with out_folder(out):  # a refused run removes the folders it made
            if export_path is None:
                export_path = out / RunFolder.EXPORT
                if not (resume and (export_path / "manifest.json").exists()):
                    left_out = _export_database(app, export_path, split_seed, listened=not all_tracks,
                                                hops=config.model.kg.hops, progress=not quiet)  # afresh
                    RunFolder(out).clear_run(export_path)  # the earlier run's files, of the export just replaced
            step = "training"
            result = train_run(config, out, export_path, resume=resume, progress=not quiet,
                               workers=workers, init_from=init_from)
        if not result:
            return  # a torchrun worker other than rank 0: rank 0 reports
        print_metrics(result["valid"], result["test"])
        click.echo(f"{config.model.name}: best epoch {result['best_epoch']}, "
                   f"{result['seconds_per_epoch']:.2f} s/epoch, peak RSS {result['peak_rss_mb']:.0f} MB → {out}")
        if config.refit:
            step = "refit"
            done = refit_run(out, export_path=export_path, progress=not quiet)
            click.echo(f"refit on all {done['listens']} listens for {done['epochs']} epochs "
                       f"({done['seconds']:.1f} s): {out / 'embeddings.pt'} is what publish writes")
    except KeyboardInterrupt:
        run = RunFolder(out)
        if step == "export" or not _holds(run, config):
            raise Interrupted(f"interrupted during the {step}, before the run saved its config: "
                              "re-running the same command starts it again") from None
        where = _stopped_at(run) if step == "training" else f"during the {step}"
        again = resume_command(out, given_export, *options)
        raise Interrupted(f"interrupted {where}: `{again}` "
                          f"{'continues' if step == 'training' else 'completes'} it") from None
    if left_out:
        click.echo(unlistened_line(left_out, run=shlex.quote(str(out)), model=config.model.name))


def _holds(run, config) -> bool:
    """Whether the run folder ``run`` holds this run's config (so ``--resume`` goes on with this
    run, not an earlier one, and with its config, not the defaults)."""
    if not run.has(run.CONFIG):
        return False
    return run.load_config() == json.loads(json.dumps(config.model_dump()))


def _stopped_at(run) -> str:
    """``"after epoch 12"``: where an interrupted training stopped (its last checkpoint), or
    ``"before its first epoch ended"``."""
    checkpoint = run.load_checkpoint() if run.has(run.CHECKPOINT) else None
    if checkpoint is None:
        return "before its first epoch ended"
    return f"after epoch {int(checkpoint['state']['epoch'])}"


def _export_database(app: AppContext, path: Path, split_seed: int, *, listened: bool, hops: int,
                     progress: bool) -> int:
    """Export the database into ``path``, replacing an export a previous run left there: every
    track, or (``listened``) those at least one user listened to, with the KG nodes within
    ``max(2, hops)`` relationships of them (``hops``: the model's KG depth, at most
    :data:`~mmkg.export.selection.MAX_HOPS`), afresh: the database may have changed since the
    last run. Returns how many tracks it left out (nobody has listened to them)."""
    from mmkg.export import Selection, SplitConfig, export_heterograph
    from mmkg.export.selection import MAX_HOPS

    selection = Selection(listened=True, hops=max(Selection().hops, min(hops, MAX_HOPS))) if listened else None
    exported = export_heterograph(app.driver(), app.database, path, selection=selection,
                                  split=SplitConfig(), seed=split_seed, progress=progress,
                                  source_uri=app.settings.neo4j.bolt_uri,
                                  batch_size=app.settings.batch.export, replace=True)
    return exported.manifest["counts"].get("unlistened_tracks", 0)
