"""``mmkg train`` and ``mmkg eval``: fit a recommender on an export, re-evaluate a run folder."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from mmkg.cli.choices import presets, training_component
from mmkg.cli.context import AppContext, pass_app
from mmkg.errors import RunFolderError

MIN_FREE_MIB = 200
"""Free space ``mmkg train`` wants on OUT's filesystem before it starts: a few times the export,
checkpoints and embeddings of a catalog of 100k tracks (small catalogs need far less)."""


def check_out_folder(out: Path, min_free_mib: float = MIN_FREE_MIB) -> None:
    """Create OUT if needed and check that a file can be written there and that its filesystem
    has ``min_free_mib`` MiB free, so that a bad OUT fails in a second, not after the export.

    Raises:
        RunFolderError: OUT cannot be created or written, or its filesystem is (nearly) full.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
        free_mib = shutil.disk_usage(out).free / 2**20
    except OSError as e:
        raise RunFolderError(f"--out {out}: cannot write a run folder there "
                             f"({e.strerror or e})") from e
    if free_mib < min_free_mib:
        raise RunFolderError(f"--out {out}: only {free_mib:.0f} MiB free on its filesystem; a run "
                             f"needs at least {min_free_mib:.0f} MiB (export, checkpoints, embeddings)")


@contextmanager
def out_folder(out: Path) -> Iterator[None]:
    """:func:`check_out_folder` for the ``with`` block; when the check or the block fails, the
    folders it created (OUT, missing parents) are removed again while empty: a refused run
    leaves nothing behind, and a folder that existed before is never removed."""
    created = [folder for folder in (out, *out.parents) if not folder.exists()]  # deepest first
    try:
        check_out_folder(out)
        yield
    except BaseException:
        for folder in created:
            try:
                folder.rmdir()  # only while empty
            except OSError:
                break
        raise


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


@click.command()
@click.option("--preset", type=presets(),
              help="Named config read first: 'paper' = the paper's MKGCN (BCE, 1:1 "
              "negatives, KGCN tree, multi-head user aggregator); see train/configs/.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML/YAML/JSON training config, read over the preset (flags below override both).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run folder: config.json, metrics.json, model.pt, curves.png, embeddings.pt.")
@click.option("--seed", type=int, help="Seed of everything (and of the export when made here).")
@click.option("--export", "export_path", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="ExportedGraph folder; default: export the database into OUT/export.")
@click.option("--model", type=training_component("model"),
              help="Registered model (default mkgcn; mkgcn-paper = the paper's; kgcn = its tree without modalities).")
@click.option("--dim", type=int, help="Embedding size d.")
@click.option("--neighbours", type=int, help="K sampled KG neighbours per entity.")
@click.option("--hops", type=int, help="H: KG aggregation depth (mkgcn: 0 = no KG).")
@click.option("--aggregator", type=training_component("aggregator"), help="KGConv combination (paper model).")
@click.option("--activation", type=click.Choice(["relu", "sigmoid"]), help="Hidden KGConv activation.")
@click.option("--fusion", type=training_component("fusion"), help="Multi-modal fusion variant.")
@click.option("--modalities/--no-modalities", default=None, help="Use the export's modality vectors.")
@click.option("--modality", "modality_names", multiple=True, help="Use only this feature; repeatable.")
@click.option("--user-agg", type=training_component("user_agg"), help="User aggregator (paper model).")
@click.option("--user-embedding/--no-user-embedding", default=None, help="Add a user-ID embedding.")
@click.option("--heads", type=int, help="Attention heads of the user aggregator.")
@click.option("--history", type=int, help="K_u history items per user.")
@click.option("--layers", type=int, help="L: propagation layers over the user-item graph (mkgcn, lightgcn).")
@click.option("--id-dropout", type=float,
              help="mkgcn: probability of dropping an item's ID embedding per training step (new tracks: always).")
@click.option("--epochs", type=int)
@click.option("--batch-size", type=int)
@click.option("--lr", type=float)
@click.option("--l2", type=float)
@click.option("--loss", type=training_component("loss"), help="Objective (default softmax; the paper's is bce).")
@click.option("--negatives", type=training_component("negatives"),
              help="Negative sampler: shared per batch, in-batch, or ratio (per positive, per epoch).")
@click.option("--neg-ratio", type=int, help="Negatives per positive.")
@click.option("--neg-correction/--no-neg-correction", default=None,
              help="logQ correction of the sampled softmax for non-uniform negatives.")
@click.option("--temperature", type=float, help="Softmax/BPR temperature.")
@click.option("--neg-alpha", type=float, help="Negatives ∝ (popularity+1)^alpha; 0 = uniform.")
@click.option("--patience", type=int, help="Early-stopping patience (epochs).")
@click.option("--monitor", type=click.Choice(["auc", "f1", "recall@20", "ndcg@20"]),
              help="Validation metric that selects the epoch.")
@click.option("--valid-topk/--no-valid-topk", default=None,
              help="Top-K on validation every epoch (off: CTR per epoch, top-K at the end).")
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's).")
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.pt.")
@click.option("--refit", is_flag=True,
              help="After selection and test, retrain the same config on every listen (valid and "
              "test too) for the selected epoch count; OUT/embeddings.pt then excludes every "
              "listened track from the top-K that publish writes. Metrics stay the evaluated run's.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Data-parallel worker processes (torch.distributed DDP, gloo on loopback); "
              "effective batch = workers × --batch-size. Or launch with torchrun.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_app
def train(app: AppContext, preset: str | None, config_file: Path | None, out: Path,
          export_path: Path | None, modality_names: tuple[str, ...], threads: int | None, resume: bool,
          refit: bool, workers: int, quiet: bool, **overrides) -> None:
    """Train a recommender and write its run folder OUT (selection and test on the export's split)."""
    from mmkg.train.distributed import check_workers
    from mmkg.train.runner import resolve_config, train_run

    check_workers(workers)  # before the run folder is made
    _set_threads(threads)
    config = resolve_config(out, preset=preset, config_file=config_file, resume=resume,
                            modality_names=list(modality_names) or None, **overrides)
    with out_folder(out):
        result = train_run(config, out, export_path=export_path, make_export=lambda path, seed: _export_database(
            app, path, seed), resume=resume, progress=not quiet, workers=workers)
    if not result:
        return  # a torchrun worker other than rank 0: rank 0 reports
    _print_metrics(result["valid"], result["test"])
    click.echo(f"{config.model.model}: best epoch {result['best_epoch']}, "
               f"{result['seconds_per_epoch']:.2f} s/epoch, peak RSS {result['peak_rss_mb']:.0f} MB → {out}")
    if refit:
        from mmkg.train.runner import refit_run

        done = refit_run(out, export_path=export_path, progress=not quiet)
        click.echo(f"refit on all {done['listens']} listens for {done['epochs']} epochs "
                   f"({done['seconds']:.1f} s): {out / 'embeddings.pt'} is what publish writes")


@click.command("eval")
@click.option("--run", "run", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A run folder written by `mmkg train`.")
@click.option("--export", "export_path", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="ExportedGraph folder (default: the one recorded in RUN/model.pt).")
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate(run: Path, export_path: Path | None, threads: int | None, as_json: bool) -> None:
    """Re-evaluate RUN's selected model on validation and test; print every metric."""
    from mmkg.train.evaluate import evaluate as run_eval, load_run

    _set_threads(threads)
    model, data = load_run(run, export_path)

    valid, test = run_eval(model, data, "valid"), run_eval(model, data, "test")
    if as_json:
        click.echo(json.dumps({"valid": valid, "test": test}, indent=2))
    else:
        _print_metrics(valid, test)


def _export_database(app: AppContext, path: Path, seed: int) -> None:
    from mmkg.export import SplitConfig, export_heterograph

    export_heterograph(app.driver(), app.database, path, selection=None, split=SplitConfig(),
                       seed=seed, source_uri=app.settings.neo4j.bolt_uri,
                       batch_size=app.settings.batch.export)


def _print_metrics(valid: dict[str, float], test: dict[str, float]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="metrics")
    table.add_column("metric")
    table.add_column("valid", justify="right")
    table.add_column("test", justify="right")
    for key in test:
        table.add_row(key, f"{valid.get(key, float('nan')):.4f}", f"{test[key]:.4f}")
    Console().print(table)
