"""``mmkg export OUT``: save a selection of the MMKG as an ExportedGraph folder for training."""

from __future__ import annotations

from pathlib import Path

import click

from mmkg.cli.choices import IdsFile
from mmkg.cli.context import AppContext, pass_app
from mmkg.errors import validation_summary
from mmkg.export.selection import MAX_HOPS
from mmkg.export.split import SplitProtocol


def _ratios(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in value.split(":"))
    except ValueError:
        parts = ()
    if len(parts) != 3 or any(p < 0 for p in parts) or parts[0] <= 0:
        raise click.BadParameter(f"expected TRAIN:VALID:TEST weights such as 6:2:2, got {value!r}")
    return parts


def check_free_space(out: Path) -> None:
    """OUT's filesystem (that of its nearest existing folder: the export is built beside OUT)
    has the :data:`mmkg.train.run_folder.MIN_FREE_MIB` MiB free that ``mmkg train`` wants of its
    ``--out``, so that a full disk fails in a second with the numbers, not with a writer's
    traceback halfway through the export.

    Raises:
        ExportError: the filesystem is (nearly) full.
    """
    import shutil

    from mmkg.errors import ExportError
    from mmkg.train import run_folder

    existing = next(folder for folder in (out, *out.absolute().parents) if folder.exists())
    free_mib = shutil.disk_usage(existing).free / 2**20
    if free_mib < run_folder.MIN_FREE_MIB:
        raise ExportError(f"{out}: only {free_mib:.0f} MiB free on its filesystem; an export needs "
                          f"at least {run_folder.MIN_FREE_MIB:.0f} MiB (graph, listens, split, features)")


def unlistened_line(n: int, run: str = "RUN", model: str | None = None) -> str:
    """What a ``listened`` export says about the ``n`` tracks it left out, ``run`` the run
    folder that will be trained on it, as the command line spells it (shell-quoted: the line is
    pasted) and ``model`` its model's name, when known: publish
    places the tracks only for a model that can (:data:`~mmkg.train.new_tracks.INDUCTIVE_MODELS`)."""
    left = f"left out: {n} track(s) nobody has listened to"
    if model is not None:
        from mmkg.train.new_tracks import INDUCTIVE_MODELS, cannot_place

        if model not in INDUCTIVE_MODELS:
            return f"{left}; " + cannot_place(f"this run's model ({model})")
    return f"{left}; `mmkg publish {run}` places them from their content and KG facts"


@click.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--genre", "genres", multiple=True, metavar="NAME",
              help="Keep tracks with this genre (its id, or its name in any case); repeatable.")
@click.option("--user", "users", multiple=True, metavar="ID",
              help="Keep these users and the tracks they listened to; repeatable.")
@click.option("--users-file", "users_file", type=IdsFile(),
              help="Like --user, one user id per line.")
@click.option("--where", metavar="PREDICATE",
              help="Keep tracks matching this Cypher predicate on the track variable `t`, e.g. "
                   "\"t.year >= 2000\". TRUSTED INPUT: the text is pasted into the query as is "
                   "(it runs inside a read transaction, so it cannot write); use only your own.")
@click.option("--listened", is_flag=True,
              help="Keep only tracks at least one user listened to (what `mmkg train` exports by "
                   "default; `mmkg publish RUN` places the others from their content and KG facts).")
@click.option("--hops", default=2, show_default=True, type=click.IntRange(0, MAX_HOPS),
              help="KG relationships walked from the selected tracks.")
@click.option("--split", "protocol", default=SplitProtocol.RATIO.value, show_default=True,
              type=click.Choice([p.value for p in SplitProtocol]), help="Split protocol.")
@click.option("--ratios", default="6:2:2", show_default=True, callback=_ratios,
              help="TRAIN:VALID:TEST weights (ratio, time, kgcn-ctr, cold-items' warm listens; "
                   "topk-801010 is 80/10/10).")
@click.option("--cold-fraction", default=0.2, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="cold-items: share of the tracks held out entirely (their listens: valid/test only).")
@click.option("--split-seed", default=0, show_default=True,
              help="Seed of the split and its negatives (manifest.json: seed).")
@click.option("--seed", default=0, show_default=True,
              help="Seed of the FastRP vectors with --fastrp (manifest.json: fastrp.seed).")
@click.option("--force", is_flag=True, help="Replace the export already in OUT.")
@click.option("--fastrp", is_flag=True,
              help="Also save GDS FastRP vectors of the training graph (fastrp.pt; model fastrp).")
@click.option("--fastrp-dim", type=click.IntRange(min=1),
              help="FastRP embedding size (default: the one tuned on Last.FM); implies --fastrp.")
@pass_app
def export(app: AppContext, out: Path, genres: tuple[str, ...], users: tuple[str, ...],
           users_file: tuple[str, ...] | None, where: str | None, listened: bool, hops: int, protocol: str,
           ratios: tuple[float, float, float], cold_fraction: float, split_seed: int, seed: int, force: bool,
           fastrp: bool,
           fastrp_dim: int | None) -> None:
    """Export a subgraph (default: all of it) to OUT with a leakage-free train/valid/test split.

    Criteria combine: a track is kept when it meets every one given. OUT receives graph.bin,
    id_maps.json, relations.json, modalities.pt, listened/, split/, manifest.json (and fastrp.pt
    with --fastrp); it must be empty or absent (or hold an export, replaced with --force). The
    folder is built beside OUT and moved in when complete: a failed export changes nothing.
    """
    from pydantic import ValidationError

    from mmkg.export import Selection, SplitConfig, export_heterograph
    from mmkg.export.heterograph import LISTENED_ETYPE

    if out.is_dir() and any(out.iterdir()) and not (force and (out / "manifest.json").is_file()):
        hint = "give --force to replace it" if (out / "manifest.json").is_file() else \
            "it is not an export folder; choose an empty one"
        raise click.UsageError(f"{out} is not empty: {hint}")
    if users_file and users:
        raise click.UsageError("give either --users-file or --user, not both")
    check_free_space(out)
    if users_file:
        users = users_file
    try:
        selection = Selection(genres=genres, users=users, where=where, listened=listened, hops=hops)
        split = SplitConfig(protocol=protocol, ratios=ratios, cold_fraction=cold_fraction)
    except ValidationError as e:
        raise click.UsageError(validation_summary(e)) from e
    fastrp_config = None
    if fastrp or fastrp_dim:
        from mmkg.export.fastrp import FastRPConfig

        fastrp_config = FastRPConfig(seed=seed, **({"dim": fastrp_dim} if fastrp_dim else {}))
    exported = export_heterograph(app.driver(), app.database, out, selection=selection, split=split,
                                  seed=split_seed, source_uri=app.settings.neo4j.bolt_uri,
                                  batch_size=app.settings.batch.export, replace=force,
                                  fastrp=fastrp_config)
    counts = exported.manifest["counts"]
    click.echo(f"exported to {out} in {exported.manifest['seconds']}s")
    click.echo("nodes:  " + ", ".join(f"{k} {v}" for k, v in counts["nodes"].items()))
    for src, rel, dst, n in counts["edges"]:
        if (src, rel, dst) != LISTENED_ETYPE:  # a type without edges: the listens are counted apart
            click.echo(f"edges:  ({src})-[{rel}]->({dst}) {n}")
    click.echo(f"listens: {counts['interactions']}")
    click.echo("split:  " + ", ".join(f"{k} {v}" for k, v in counts["split"].items()))
    if counts.get("unlistened_tracks"):
        click.echo(unlistened_line(counts["unlistened_tracks"]))
    for name, m in exported.manifest["modalities"].items():
        click.echo(f"feature: {name} ({m['kind']}, dim {m['dim']}) on {m['present']} tracks")
    if exported.fastrp is not None:
        f = exported.manifest["fastrp"]
        click.echo(f"fastrp: dim {f['dim']} on {f['nodes']} nodes, {f['relationships'] // 2} "
                   f"training/KG edges, in {f['seconds']}s")
