"""``mmkg publish | recommend | similar``: write a trained model to Neo4j, then query it.

``recommend`` and ``similar`` run ``cypher/recommend.cypher``, ``cold_start.cypher``,
``explain.cypher`` and ``similar_tracks.cypher`` unchanged (the queries one runs in Neo4j Browser).
A user the current model does not know but who has a listening history gets a cold-start answer
from those tracks; a user without history gets a one-line hint to use ``--like``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from neo4j import Driver, ManagedTransaction

from mmkg.cli.context import AppContext, pass_app

#: Lookups that decide which message a user gets; not reusable queries, hence not in cypher/.
_USER_STATE = """
OPTIONAL MATCH (m:Model {current: true})
OPTIONAL MATCH (u:User {id: $userId})
RETURN m.id AS model, u IS NOT NULL AS exists,
       COLLECT { MATCH (u)-[:LISTENED]->(t:Track) RETURN t.id } AS history,
       EXISTS { MATCH (u)-[r:RECOMMENDED]->() WHERE r.model = m.id } AS known
"""
_TRACK_STATE = """
UNWIND $trackIds AS id
OPTIONAL MATCH (t:Track {id: id})
RETURN id, t IS NOT NULL AS exists, t.embedding IS NOT NULL AS embedded
"""


def _fetch(tx: ManagedTransaction, query: str, params: dict) -> list[dict]:
    return [record.data() for record in tx.run(query, params)]


def read(driver: Driver, database: str, query: str, **params) -> list[dict]:
    """Run a read query in a read transaction; rows as dicts."""
    with driver.session(database=database) as session:
        return session.execute_read(_fetch, query, params)


def read_named(driver: Driver, database: str, name: str, **params) -> list[dict]:
    """Run ``cypher/<name>.cypher`` with ``params``; rows as dicts."""
    from mmkg.graph import load_query

    return read(driver, database, load_query(name), **params)


def _check_tracks(driver: Driver, database: str, track_ids: list[str]) -> None:
    rows = read(driver, database, _TRACK_STATE, trackIds=track_ids)
    unknown = [r["id"] for r in rows if not r["exists"]]
    if unknown:
        raise click.ClickException(f"unknown track(s): {', '.join(unknown)}")
    if not any(r["embedded"] for r in rows):
        raise click.ClickException(
            "no embedding for " + ", ".join(track_ids) + ": publish a model first (`mmkg publish RUN_DIR`)"
        )


def _emit(rows: list[dict], as_json: bool, title: str) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    columns = [c for c in ("rank", "trackId", "title", "artist", "score") if rows and c in rows[0]]
    explained = any("reasons" in row for row in rows)
    for column in columns:
        table.add_column(column, justify="right" if column in ("rank", "score") else "left",
                         no_wrap=explained, max_width=24 if explained else None, overflow="ellipsis")
    if explained:
        table.add_column("because (knowledge-graph paths to what they listened to)", ratio=1)
    for row in rows:
        cells = [f"{row[c]:.4f}" if c == "score" else str(row[c] or "") for c in columns]
        if explained:
            cells.append("\n".join(row.get("reasons", [])) or "-")
        table.add_row(*cells)
    Console().print(table)


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--keep", default=3, show_default=True, type=click.IntRange(min=0),
              help="Previous model versions to retain; older ones are deleted.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Rows per write transaction (users for RECOMMENDED, nodes for vectors).")
@click.option("--model-id", help="Model version id (default: <run folder>-<hash of embeddings.pt>).")
@pass_app
def publish(app: AppContext, run_dir: Path, keep: int, batch_size: int, model_id: str | None) -> None:
    """Write RUN_DIR's embeddings and top-K to Neo4j as the new current model, atomically."""
    from train.publish import publish as publish_run

    s = publish_run(app.driver(), app.database, run_dir, keep=keep, batch_size=batch_size,
                    model_id=model_id)
    reused = " (recommendations already written)" if s.recommendations_reused else ""
    click.echo(f"model {s.model_id} is current{reused}: {s.recommendations} recommendations, "
               f"{s.tracks} track and {s.users} user vectors (d={s.dimension}) in {s.seconds:.1f} s "
               f"({s.rows_per_second:,.0f} rows/s)")
    if s.missing_tracks or s.missing_users:
        click.echo(f"skipped {s.missing_tracks} tracks and {s.missing_users} users absent from the graph")
    if s.pruned_models:
        click.echo(f"pruned {len(s.pruned_models)} old version(s): {', '.join(s.pruned_models)}")


@click.command()
@click.argument("user", required=False)
@click.option("--k", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--genre", help="Only tracks of this genre (id or name).")
@click.option("--like", "liked", multiple=True, metavar="TRACK",
              help="Cold start: recommend for someone who likes these tracks (repeatable).")
@click.option("--explain", is_flag=True, help="Add the knowledge-graph reasons of each track.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@pass_app
def recommend(app: AppContext, user: str | None, k: int, genre: str | None, liked: tuple[str, ...],
              explain: bool, as_json: bool) -> None:
    """Top-K tracks for USER from the current model (or for --like TRACK ... without a USER)."""
    driver, db = app.driver(), app.database
    if liked:
        _check_tracks(driver, db, list(liked))
        rows = read_named(driver, db, "cold_start", trackIds=list(liked), k=k)
        return _emit(_ranked(rows), as_json, f"cold start from {len(liked)} liked track(s)")
    if user is None:
        raise click.UsageError("give a USER, or --like TRACK for a cold start")
    state = read(driver, db, _USER_STATE, userId=user)[0]
    if not state["exists"]:
        raise click.ClickException(f"unknown user {user!r}")
    if state["model"] is None:
        raise click.ClickException("no model is published yet: run `mmkg publish RUN_DIR`")
    if state["known"]:
        rows = read_named(driver, db, "recommend", userId=user, k=k, genre=genre)
        if not rows:
            raise click.ClickException(
                f"no recommendations for user {user!r} in genre {genre!r} among model "
                f"{state['model']}'s top list" if genre else
                f"user {user!r} already listened to every track model {state['model']} recommends")
    elif state["history"]:
        click.echo(f"user {user!r} is newer than model {state['model']}: recommending from their "
                   f"{len(state['history'])} listened tracks (cold start)", err=True)
        rows = _ranked(read_named(driver, db, "cold_start", trackIds=state["history"], k=k))
    else:
        raise click.ClickException(f"user {user!r} has no listening history; try "
                                   "`mmkg recommend --like TRACK [--like TRACK ...]`")
    if explain:
        for row in rows:
            reasons = read_named(driver, db, "explain", userId=user, trackId=row["trackId"], limit=3)
            row["reasons"] = [r["reason"] for r in reasons]
    _emit(rows, as_json, f"recommendations for user {user} (model {state['model']})")


def _ranked(rows: list[dict]) -> list[dict]:
    return [{**row, "rank": rank} for rank, row in enumerate(rows, start=1)]


@click.command()
@click.argument("track")
@click.option("--k", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@pass_app
def similar(app: AppContext, track: str, k: int, as_json: bool) -> None:
    """Tracks nearest to TRACK in the current model's embedding space (vector index)."""
    driver, db = app.driver(), app.database
    _check_tracks(driver, db, [track])
    rows = _ranked(read_named(driver, db, "similar_tracks", trackId=track, k=k))
    _emit(rows, as_json, f"tracks similar to {track}")
