"""``mmkg recommend | similar``: query the current published model.

Both print what :mod:`mmkg.recommend` reads through the ``cypher/`` files one also runs in Neo4j
Browser.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from mmkg.cli.context import AppContext, pass_app
from mmkg.terminal import plain, printable

if TYPE_CHECKING:  # mmkg.recommend imports the driver (~1 s): keep `mmkg --help` instant
    from mmkg.recommend import Recommendations

K_RANGE = click.IntRange(1, 1000)
"""``--k``: a page of results, not the catalog; larger values overflow the vector index queries'
``$k + 1`` (Neo4j integers are 64-bit) long before they are useful."""


FILTERED_RANKS = "rank: each track's place in the user's whole list"
"""Printed under a known user's list filtered by ``--new`` or ``--genre``, whose ranks skip."""
HEARD_RANKS = ("rank: each track's place in the model's list; the ranks skipped are tracks the user "
               "has listened to")
"""Printed under a known user's list whose ranks skip tracks they listened to (the stored list
holds tracks the model did not train on as listens: validation and test ones without
``--refit``, and listens ingested since)."""


def _emit(rows: list[dict], as_json: bool, title: str, note: str | None = None,
          no_reason: str = "") -> None:
    """``rows`` as JSON, or as a table (with their reasons, when they have some, ``no_reason``
    under a track without one) under ``title``, then ``note`` when given."""
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    if any("reasons" in row for row in rows):
        _emit_explained(rows, title, no_reason)
    else:
        table = Table(title=plain(title))
        columns = [c for c in ("rank", "trackId", "title", "artist", "score") if rows and c in rows[0]]
        for column in columns:
            table.add_column(column, justify="right" if column in ("rank", "score") else "left")
        for row in rows:
            table.add_row(*[plain(f"{row[c]:.4f}" if c == "score" else row[c] or "") for c in columns])
        Console().print(table)
    if note:
        Console().print(plain(note, "dim"), highlight=False)


NO_REASON = "(no knowledge-graph path, nor a close modality, to {whose})"
"""Printed under an explained track without a reason; ``whose``: the tracks reasons point to."""


def _emit_explained(rows: list[dict], title: str, no_reason: str) -> None:
    """One line per track (rank, id, title, artist, score), then its reasons below it (or
    ``no_reason``), each wrapped under a hanging indent, so the text reads in an 80-column
    terminal."""
    import textwrap

    from rich.console import Console
    from rich.text import Text

    console = Console()
    console.print(plain(title, "bold"))
    for row in rows:
        head = Text.assemble(Text(f"{row['rank']:>3}. ", "bold"), plain(row["trackId"], "cyan"), "  ",
                             plain(row["title"] or "", "bold"), "  ", plain(row["artist"] or ""),
                             Text(f"  score {row['score']:.4f}", "dim"))
        head.overflow, head.no_wrap = "ellipsis", True
        console.print(head)
        for reason in row.get("reasons") or [no_reason]:
            console.print(textwrap.fill(printable(reason), width=max(console.width, 40),
                                        initial_indent="     - ", subsequent_indent="       "),
                          highlight=False, markup=False)


@click.command()
@click.argument("user", required=False)
@click.option("--k", default=10, show_default=True, type=K_RANGE)
@click.option("--genre", help="Only tracks of this genre (its id, or its name in any case).")
@click.option("--new", "new_only", is_flag=True,
              help="Only new releases: tracks nobody has listened to yet, placed by their media "
                   "and KG facts alone (`mmkg publish RUN --new-tracks` embeds tracks ingested "
                   "after training).")
@click.option("--like", "liked", multiple=True, metavar="TRACK",
              help="Cold start: recommend for someone who likes these tracks (repeatable; with "
                   "--genre, --new and --explain too). Tracks without a vector of the current "
                   "model are left out, with a warning naming them.")
@click.option("--explain", is_flag=True, help="Add the reasons of each track: knowledge-graph paths and "
              "calibrated modality similarities (sound, lyrics, cover) to tracks USER listened to "
              "(or to the --like tracks).")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list instead of a table; each row names its model, its method "
                   "(topk, vectors or cold-start) and its scoreKind (sigmoid: the model's score "
                   "for the user; cosine: similarity to the mean of the given tracks).")
@pass_app
def recommend(app: AppContext, user: str | None, k: int, genre: str | None, new_only: bool,
              liked: tuple[str, ...], explain: bool, as_json: bool) -> None:
    """Top-K tracks for USER from the current model (or for --like TRACK ... without a USER).

    A USER newer than the model gets a cold start from the tracks they listened to that have a
    vector of it (a warning names the others; none: an error).
    """
    from mmkg import recommend as recs

    if liked:
        if user is not None:
            raise click.UsageError("--like recommends for someone known only by liked tracks: "
                                   "USER cannot apply to it")
        result = recs.for_liked_tracks(app.driver(), app.database, list(liked), k=k, genre=genre,
                                       new_only=new_only, explain=explain)
        _warn_left_out(result, "liked")
        what = "new releases" if new_only else "cold start"
        return _emit(result.rows, as_json, f"{what} from {_tracks(result.used, 'liked')}",
                     no_reason=NO_REASON.format(whose="the liked tracks"))
    if user is None:
        raise click.UsageError("give a USER, or --like TRACK for a cold start")
    result = recs.for_user(app.driver(), app.database, user, k=k, genre=genre, new_only=new_only,
                           explain=explain)
    if result.cold_start:
        used = (f"their {_tracks(result.history, 'listened')}" if not result.left_out
                else f"{result.used:,} of their {_tracks(result.history, 'listened')}")
        click.echo(f"user {recs.shown(user, quote=True)} is newer than model {result.model}: "
                   f"recommending from {used} (cold start)", err=True)
        _warn_left_out(result, "listened")
    what = "new releases" if new_only else "recommendations"
    filtered = (new_only or genre is not None) and not result.cold_start
    skipped = any(row["rank"] != i for i, row in enumerate(result.rows, start=1))
    notes = [FILTERED_RANKS] if filtered else [HEARD_RANKS] if skipped and not result.cold_start else []
    if result.stored is not None and len(result.rows) < k:
        notes.append(f"{len(result.rows)} of the {k} asked: model {result.model} stores each user's "
                     f"top {result.stored}, less what they listened to (a model published with "
                     "`--serve vectors` ranks any k)")
    _emit(result.rows, as_json, f"{what} for user {recs.shown(user)} (model {result.model})",
          "\n".join(notes) or None, NO_REASON.format(whose="what they listened to"))


def _tracks(n: int, kind: str) -> str:
    """``n`` ``kind`` track(s), in agreement: "1 liked track", "3 listened tracks"."""
    return f"{n:,} {kind} track{'' if n == 1 else 's'}"


def _warn_left_out(result: Recommendations, kind: str) -> None:
    """One line on stderr naming the ``kind`` ("liked", "listened") tracks a cold start left out
    for want of a vector of the model, and why; nothing when it used them all."""
    from mmkg.recommend import listed

    if result.left_out:
        click.echo(f"warning: left out {len(result.left_out):,} of the {_tracks(result.history, kind)}, "
                   f"without a vector of model {result.model}: {listed(result.left_out)}; "
                   f"{result.left_out_why}", err=True)


@click.command()
@click.argument("track")
@click.option("--k", default=10, show_default=True, type=K_RANGE)
@click.option("--explain", is_flag=True,
              help="Why each track is near TRACK: knowledge-graph paths to it and calibrated "
              "modality similarities (sound, lyrics, cover) with it.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list instead of a table; each row names its model, its method "
                   "(similar) and its scoreKind (cosine, in [0, 1]).")
@pass_app
def similar(app: AppContext, track: str, k: int, explain: bool, as_json: bool) -> None:
    """Tracks nearest to TRACK in the current model's embedding space (vector index)."""
    from mmkg.recommend import shown, similar_tracks

    _emit(similar_tracks(app.driver(), app.database, track, k=k, explain=explain), as_json,
          f"tracks similar to {shown(track)}", no_reason=NO_REASON.format(whose=shown(track, quote=True)))
