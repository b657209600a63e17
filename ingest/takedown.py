"""Take tracks down: delete them from the graph (``cypher/delete_tracks.cypher``).

A track whose rights end must leave every answer at once. Deleting its node does that through
the graph itself: its ``RECOMMENDED`` relationships and its vectors (hence its places in the
vector indexes) go with it, so ``recommend``, ``similar`` and the cold start no longer return it,
and a later ``mmkg publish`` skips it as absent from the graph. Its ``Feature`` nodes are deleted
with it; its listens too, since the track they point to is gone. The catalog files stay the
source of truth: a track still listed there comes back with the next ``mmkg ingest``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from neo4j import Driver

from mmkg.graph import load_query, write_rows
from mmkg.progress import progress_bar

TRACKS_PER_TX = 100
"""Tracks deleted per write transaction: a popular track takes its thousands of listens and
recommendations along, and each transaction holds all of them."""


@dataclass
class Takedown:
    """What :func:`take_down` deleted, and the ids that named no track."""

    deleted: int = 0
    features: int = 0
    listens: int = 0
    recommendations: int = 0
    unknown: list[str] = field(default_factory=list)


def take_down(driver: Driver, database: str, track_ids: Iterable[str], *,
              tracks_per_tx: int = TRACKS_PER_TX, progress: bool = False) -> Takedown:
    """Delete the tracks ``track_ids`` (repeats ignored) with their features and relationships,
    ``tracks_per_tx`` per write transaction, with a progress bar when ``progress``. Idempotent:
    after a crash, a re-run deletes what is left, and reports the ids already deleted as unknown.
    """
    ids = list(dict.fromkeys(track_ids))
    query = load_query("delete_tracks")
    done = Takedown()
    with progress_bar("tracks", disable=not progress) as bar:
        task = bar.add_task("delete tracks", total=len(ids))
        for start in range(0, len(ids), tracks_per_tx):
            chunk = ids[start:start + tracks_per_tx]
            row = write_rows(driver, database, query, trackIds=chunk)[0]
            done.deleted += row["deleted"]
            done.features += row["features"]
            done.listens += row["listens"]
            done.recommendations += row["recommendations"]
            done.unknown += row["unknown"]
            bar.advance(task, len(chunk))
    return done
