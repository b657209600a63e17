"""Batched, retried writes: one query per batch of parameters, each batch in its own transaction.

Every write of mmkg goes through :func:`run_parameter_batches`: :func:`run_batches` (one query
over ``$rows``, a list of maps) for most writers, the batches directly where a writer sends
parallel lists (publish's ``RECOMMENDED``: no map keys repeated on the wire). A batch is a transaction function retried
here, with back-off, on a lost connection (a restarting or killed server) and on transient errors
(deadlocks, leader switches), for at most the ``neo4j.retry_seconds`` setting in total (waits
included), each retry announced by one line on stderr. Queries must therefore be idempotent
(keyed on constrained ids), and re-running a whole interrupted job converges to the same graph.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from neo4j import Driver, ManagedTransaction, Session
from neo4j.exceptions import IncompleteCommit, Neo4jError, ServiceUnavailable, SessionExpired

from mmkg.errors import DatabaseError
from mmkg.graph.driver import retry_seconds
from mmkg.graph.queries import open_session

log = logging.getLogger(__name__)

FIRST_RETRY_S = 1.0
"""The first wait before a retry; each next one doubles, up to :data:`LONGEST_RETRY_S`."""
LONGEST_RETRY_S = 8.0


@dataclass
class WriteSummary:
    """Counters gathered from the servers' result summaries."""

    rows: int = 0
    nodes_created: int = 0
    relationships_created: int = 0
    relationships_deleted: int = 0
    properties_set: int = 0
    seconds: float = 0.0
    by_step: dict[str, int] = field(default_factory=dict)

    def add(self, other: "WriteSummary") -> None:
        self.rows += other.rows
        self.nodes_created += other.nodes_created
        self.relationships_created += other.relationships_created
        self.relationships_deleted += other.relationships_deleted
        self.properties_set += other.properties_set
        self.seconds += other.seconds
        for k, v in other.by_step.items():
            self.by_step[k] = self.by_step.get(k, 0) + v


@dataclass(frozen=True)
class ParameterBatch:
    """The parameters of one write transaction and how many rows they stand for (what
    ``on_batch`` and :attr:`WriteSummary.rows` count: users, nodes, relationships...)."""

    rows: int
    params: dict[str, Any]


def _write_batch(tx: ManagedTransaction, query: str, params: dict) -> tuple[int, int, int, int]:
    counters = tx.run(query, params).consume().counters
    return (counters.nodes_created, counters.relationships_created, counters.relationships_deleted,
            counters.properties_set)


def retry_delays(budget_s: float) -> list[float]:
    """The waits before each retry: 1, 2, 4, 8, 8, ... seconds, the last one cut short so that
    they add up to ``budget_s``; e.g. 30 s → [1, 2, 4, 8, 8, 7], 2.5 s → [1, 1.5]."""
    delays: list[float] = []
    delay, left = FIRST_RETRY_S, budget_s
    while left > 1e-9:
        delays.append(min(delay, left))
        left -= delays[-1]
        delay = min(2 * delay, LONGEST_RETRY_S)
    return delays


def _one_line(error: Exception) -> str:
    """The driver's message of ``error`` on one line (connection errors span several)."""
    return " ".join((getattr(error, "message", None) or str(error)).split())


def _write_with_retries(session: Session, query: str, params: dict,
                        budget_s: float) -> tuple[int, int, int, int]:
    """One batch in one write transaction, retried for at most ``budget_s`` seconds in total."""
    delays = retry_delays(budget_s)
    deadline = time.monotonic() + budget_s
    attempt = 0
    while True:
        try:
            return session.execute_write(_write_batch, query, params)
        except IncompleteCommit as e:  # before ServiceUnavailable, its base class
            raise DatabaseError.commit_unknown("a batch of writes") from e
        except (ServiceUnavailable, SessionExpired) as e:
            what, cause = "Neo4j unreachable", e
            failure = (f"Neo4j stayed unreachable through {budget_s:g} s of retries "
                       f"(setting neo4j.retry_seconds): {_one_line(e)}")
        except Neo4jError as e:
            what, cause, failure = f"Neo4j busy ({e.code})", e, f"Neo4j refused a write: {_one_line(e)}"
            if not e.is_retryable():
                raise DatabaseError(failure) from e
        if attempt == len(delays) or time.monotonic() >= deadline:
            raise DatabaseError(failure) from cause
        delay = min(delays[attempt], deadline - time.monotonic())
        attempt += 1
        log.warning("%s, retrying in %gs (%d/%d)", what, round(delay, 1), attempt, len(delays))
        time.sleep(delay)


def chunked(rows: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    """Consecutive slices of ``rows`` of at most ``size`` items."""
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def run_parameter_batches(
    driver: Driver,
    database: str,
    query: str,
    batches: Iterable[ParameterBatch],
    *,
    params: dict | None = None,
    on_batch: Callable[[int], None] | None = None,
    retry_s: float | None = None,
) -> WriteSummary:
    """Run ``query`` once per batch, each in its own write transaction, with the batch's
    parameters plus ``params`` (the same for every batch; a batch's own win on a name clash).
    The query must be idempotent. ``batches`` is consumed lazily: one batch is built at a time.

    ``on_batch(n)`` is called after each committed batch with its :attr:`ParameterBatch.rows`
    (progress bars); an exception it raises stops the job after that batch. A batch that meets a
    lost connection or a transient error is retried for at most ``retry_s`` seconds in total
    (default: the ``neo4j.retry_seconds`` setting the driver was opened with), each retry logged
    as one warning line ``Neo4j unreachable, retrying in 2s (2/6)``.

    Returns:
        The summed counters (a node found and updated counts in ``properties_set``).

    Raises:
        DatabaseError: Neo4j refused a batch, stayed unreachable, or went away while committing
            one (its outcome unknown: re-running completes it).
    """
    summary = WriteSummary()
    started = time.perf_counter()
    budget_s = retry_seconds(driver) if retry_s is None else retry_s
    # The driver's own retries are off for this session: the loop above does them, and says so.
    with open_session(driver, database, max_transaction_retry_time=0) as session:
        for batch in batches:
            n, r, d, p = _write_with_retries(session, query, {**(params or {}), **batch.params},
                                             budget_s)
            summary.rows += batch.rows
            summary.nodes_created += n
            summary.relationships_created += r
            summary.relationships_deleted += d
            summary.properties_set += p
            if on_batch:
                on_batch(batch.rows)
    summary.seconds = time.perf_counter() - started
    return summary


def run_batches(
    driver: Driver,
    database: str,
    query: str,
    rows: Sequence[dict],
    *,
    batch_size: int,
    params: dict | None = None,
    on_batch: Callable[[int], None] | None = None,
    retry_s: float | None = None,
) -> WriteSummary:
    """Run ``query`` over ``rows`` in batches of ``batch_size``; the query reads its batch as
    ``$rows`` (and ``params`` as further parameters) and must be idempotent. Batches, retries,
    ``on_batch`` and the result are those of :func:`run_parameter_batches`.

    Raises:
        DatabaseError: as :func:`run_parameter_batches`.
    """
    batches = (ParameterBatch(len(batch), {"rows": list(batch)})
               for batch in chunked(rows, batch_size))
    return run_parameter_batches(driver, database, query, batches, params=params,
                                 on_batch=on_batch, retry_s=retry_s)
