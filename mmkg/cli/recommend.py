"""``mmkg recommend | similar``: query the current published model.

Both print what :mod:`mmkg.recommend` reads through the ``cypher/`` files one also runs in Neo4j
Browser.
"""

from __future__ import annotations

import json

import click

from mmkg.cli.context import AppContext, pass_app

K_RANGE = click.IntRange(1, 1000)
"""``--k``: a page of results, not the catalog; larger values overflow the vector index queries'
``$k + 1`` (Neo4j integers are 64-bit) long before they are useful."""


FILTERED_RANKS = "rank: each track's place in the user's whole list"
"""Printed under a known user's list filtered by ``--new`` or ``--genre``, whose ranks skip."""


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
        table = Table(title=title)
        columns = [c for c in ("rank", "trackId", "title", "artist", "score") if rows and c in rows[0]]
        for column in columns:
            table.add_column(column, justify="right" if column in ("rank", "score") else "left")
        for row in rows:
            table.add_row(*[f"{row[c]:.4f}" if c == "score" else str(row[c] or "") for c in columns])
        Console().print(table)
    if note:
        Console().print(note, style="dim", highlight=False, markup=False)


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
    console.print(Text(title, style="bold"))
    for row in rows:
        head = Text.assemble((f"{row['rank']:>3}. ", "bold"), (str(row["trackId"]), "cyan"), "  ",
                             (str(row["title"] or ""), "bold"), f"  {row['artist'] or ''}",
                             (f"  score {row['score']:.4f}", "dim"))
        head.overflow, head.no_wrap = "ellipsis", True
        console.print(head)
        for reason in row.get("reasons") or [no_reason]:
            console.print(textwrap.fill(reason, width=max(console.width, 40), initial_indent="     - ",
                                        subsequent_indent="       "), highlight=False, markup=False)


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
                   "--genre, --new and --explain too).")
@click.option("--explain", is_flag=True, help="Add the reasons of each track: knowledge-graph paths and "
              "calibrated modality similarities (sound, lyrics, cover) to tracks USER listened to "
              "(or to the --like tracks).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@pass_app
def recommend(app: AppContext, user: str | None, k: int, genre: str | None, new_only: bool,
              liked: tuple[str, ...], explain: bool, as_json: bool) -> None:
    """Top-K tracks for USER from the current model (or for --like TRACK ... without a USER)."""
    from mmkg import recommend as recs

    if liked:
        if user is not None:
            raise click.UsageError("--like recommends for someone known only by liked tracks: "
                                   "USER cannot apply to it")
        rows = recs.for_liked_tracks(app.driver(), app.database, list(liked), k=k, genre=genre,
                                     new_only=new_only, explain=explain)
        what = "new releases" if new_only else "cold start"
        return _emit(rows, as_json, f"{what} from {len(liked)} liked track(s)",
                     no_reason=NO_REASON.format(whose="the liked tracks"))
    if user is None:
        raise click.UsageError("give a USER, or --like TRACK for a cold start")
    result = recs.for_user(app.driver(), app.database, user, k=k, genre=genre, new_only=new_only,
                           explain=explain)
    if result.cold_start:
        click.echo(f"user {user!r} is newer than model {result.model}: recommending from their "
                   f"{result.history} listened tracks (cold start)", err=True)
    what = "new releases" if new_only else "recommendations"
    filtered = (new_only or genre is not None) and not result.cold_start
    notes = [FILTERED_RANKS] if filtered else []
    if result.stored is not None and len(result.rows) < k:
        notes.append(f"{len(result.rows)} of the {k} asked: model {result.model} stores each user's "
                     f"top {result.stored}, less what they listened to (a model published with "
                     "`--serve vectors` ranks any k)")
    _emit(result.rows, as_json, f"{what} for user {user} (model {result.model})",
          "\n".join(notes) or None, NO_REASON.format(whose="what they listened to"))


@click.command()
@click.argument("track")
@click.option("--k", default=10, show_default=True, type=K_RANGE)
@click.option("--explain", is_flag=True,
              help="Why each track is near TRACK: knowledge-graph paths to it and calibrated "
              "modality similarities (sound, lyrics, cover) with it.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@pass_app
def similar(app: AppContext, track: str, k: int, explain: bool, as_json: bool) -> None:
    """Tracks nearest to TRACK in the current model's embedding space (vector index)."""
    from mmkg.recommend import similar_tracks

    _emit(similar_tracks(app.driver(), app.database, track, k=k, explain=explain), as_json,
          f"tracks similar to {track}", no_reason=NO_REASON.format(whose=repr(track)))
