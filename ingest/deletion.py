"""Delete tracks or users from the graph by id: ``mmkg delete-tracks`` (``cypher/delete_tracks.cypher``)
and ``mmkg delete-users`` (``cypher/delete_users.cypher``).

A track whose rights end must leave every answer at once. Deleting its node does that through
the graph itself: its ``RECOMMENDED`` relationships and its vectors (hence its places in the
vector indexes) go with it, so ``recommend``, ``similar`` and the cold start no longer return it,
and a later ``mmkg publish`` skips it as absent from the graph. Its ``Feature`` nodes are deleted
with it; its listens too, since the track they point to is gone.

A user who asks to be forgotten leaves the graph the same way: the node, with its listens, its
recommendations of every model and its vectors. A later publish of a run that still holds the
user skips them. What lies outside the graph is the operator's to delete: exports and run folders
made before hold the user's listens and vector, and the current model's parameters were trained
on those listens until the next training.

The catalog files stay the source of truth for both: an id still listed there comes back with
the next ``mmkg ingest``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from neo4j import Driver

from mmkg.graph import load_query, write_rows
from mmkg.progress import progress_bar

IDS_PER_TX = 100
"""Nodes deleted per write transaction: a popular track (or a heavy listener) takes its thousands
of listens and recommendations along, and each transaction holds all of them."""


@dataclass
class Deletion:
    """What a deletion removed: ``deleted`` nodes, what went with them (``removed``: e.g.
    ``listens``, ``recommendations``, ``features``), and the ids that named no node."""

    deleted: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    unknown: list[str] = field(default_factory=list)


def take_down(driver: Driver, database: str, track_ids: Iterable[str], *,
              ids_per_tx: int = IDS_PER_TX, progress: bool = False) -> Deletion:
    """Delete the tracks ``track_ids`` with their features and relationships; ``removed`` counts
    ``features``, ``listens`` and ``recommendations``. As :func:`_delete`."""
    return _delete(driver, database, "delete_tracks", "trackIds", track_ids, "tracks",
                   ids_per_tx=ids_per_tx, progress=progress)


def forget_users(driver: Driver, database: str, user_ids: Iterable[str], *,
                 ids_per_tx: int = IDS_PER_TX, progress: bool = False) -> Deletion:
    """Delete the users ``user_ids`` with their listens, recommendations and vectors;
    ``removed`` counts ``listens`` and ``recommendations``. As :func:`_delete`."""
    return _delete(driver, database, "delete_users", "userIds", user_ids, "users",
                   ids_per_tx=ids_per_tx, progress=progress)


def _delete(driver: Driver, database: str, query_name: str, parameter: str, ids: Iterable[str],
            what: str, *, ids_per_tx: int, progress: bool) -> Deletion:
    """Run the deletion query ``query_name`` over ``ids`` (repeats ignored), ``ids_per_tx`` per
    write transaction (its list parameter ``parameter``), with a progress bar of ``what`` when
    ``progress``; sum its one row per transaction: ``deleted``, ``unknown`` and counts.
    Idempotent: after a crash, a re-run deletes what is left, and reports the ids already deleted
    as unknown."""
    ids = list(dict.fromkeys(ids))
    query = load_query(query_name)
    done = Deletion()
    with progress_bar(what, disable=not progress) as bar:
        task = bar.add_task(f"delete {what}", total=len(ids))
        for start in range(0, len(ids), ids_per_tx):
            chunk = ids[start:start + ids_per_tx]
            row = write_rows(driver, database, query, **{parameter: chunk})[0]
            done.deleted += row.pop("deleted")
            done.unknown += row.pop("unknown")
            done.removed.update(row)
            bar.advance(task, len(chunk))
    return done
