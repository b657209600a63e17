"""Batched, retried writes: one query over ``$rows`` per batch, each batch in its own transaction.

Every write of mmkg goes through :func:`run_batches`. A batch is a transaction function, so the
driver retries it on transient errors (deadlocks, leader switches); a lost connection (a
restarting server) is retried here with back-off. Queries must therefore be idempotent (keyed on
constrained ids), and re-running a whole interrupted job converges to the same graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from neo4j import Driver, ManagedTransaction
from neo4j.exceptions import Neo4jError, ServiceUnavailable, SessionExpired

from mmkg.errors import DatabaseError
from mmkg.graph.queries import open_session


@dataclass
class WriteSummary:
    """Counters gathered from the servers' result summaries."""

    rows: int = 0
    nodes_created: int = 0
    relationships_created: int = 0
    properties_set: int = 0
    seconds: float = 0.0
    by_step: dict[str, int] = field(default_factory=dict)

    def add(self, other: "WriteSummary") -> None:
        self.rows += other.rows
        self.nodes_created += other.nodes_created
        self.relationships_created += other.relationships_created
        self.properties_set += other.properties_set
        self.seconds += other.seconds
        for k, v in other.by_step.items():
            self.by_step[k] = self.by_step.get(k, 0) + v


def _write_batch(tx: ManagedTransaction, query: str, rows: list[dict], params: dict) -> tuple[int, int, int]:
    counters = tx.run(query, rows=rows, **params).consume().counters
    return counters.nodes_created, counters.relationships_created, counters.properties_set


def chunked(rows: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """Consecutive slices of ``rows`` of at most ``size`` items."""
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def run_batches(
    driver: Driver,
    database: str,
    query: str,
    rows: Sequence[dict],
    *,
    batch_size: int,
    params: dict | None = None,
    on_batch: Callable[[int], None] | None = None,
    retries: int = 5,
) -> WriteSummary:
    """Run ``query`` over ``rows`` in batches of ``batch_size``; the query reads its batch as
    ``$rows`` (and ``params`` as further parameters) and must be idempotent.

    ``on_batch(n)`` is called after each committed batch with its row count (progress bars); an
    exception it raises stops the job after that batch. Transient errors are retried by
    ``execute_write``; a lost connection is retried here up to ``retries`` times with back-off.

    Returns:
        The summed counters (a node found and updated counts in ``properties_set``).

    Raises:
        DatabaseError: Neo4j refused a batch, or stayed unreachable.
    """
    summary = WriteSummary()
    started = time.perf_counter()
    params = params or {}
    with open_session(driver, database) as session:
        for batch in chunked(rows, batch_size):
            batch = list(batch)
            for attempt in range(retries + 1):
                try:
                    n, r, p = session.execute_write(_write_batch, query, batch, params)
                    break
                except (ServiceUnavailable, SessionExpired) as e:
                    if attempt == retries:
                        raise DatabaseError(f"Neo4j went away and did not come back: {e}") from e
                    time.sleep(min(2 ** attempt, 10))
                except Neo4jError as e:
                    raise DatabaseError(f"Neo4j refused a write: {e.message}") from e
            summary.rows += len(batch)
            summary.nodes_created += n
            summary.relationships_created += r
            summary.properties_set += p
            if on_batch:
                on_batch(len(batch))
    summary.seconds = time.perf_counter() - started
    return summary
