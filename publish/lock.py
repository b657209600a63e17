"""One publish at a time: the ``(:PublishLock {id: 'publish'})`` node.

Two publishes that overlap would clear and write the same vector slot (both pick the one the
current model does not use), and the first flip would then serve vectors half of which the
other publish wrote, or removed. So a publish first takes the lock: it
MERGEs the one lock node in a write transaction (``cypher/publish_lock_acquire.cypher``); the
uniqueness constraint ``publishlock_id`` makes exactly one of two concurrent MERGEs create it.
The lock records its holder (a random token, host, pid, run folder, start time). The holder
deletes it when it ends, successfully or not (``finally``); a second publish meanwhile is
refused with one line naming the holder.

A lock left behind by a publish that died (SIGKILL, power loss, Neo4j gone while releasing):

- on the same host, a holder whose pid no longer runs is recognised as dead and the lock is taken
  over automatically (with a warning);
- otherwise ``mmkg publish --force-unlock`` (``force_unlock=True``) breaks it first. Only use it
  when the holder named in the refusal is really gone: two publishes at once lose data. It is
  refused when the holder is on this host and its process still runs.

Breaking and re-taking go through the same acquire query, so two publishes that both find a dead
holder still end with one owner.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

from neo4j import Driver

from mmkg.errors import DatabaseError, PublishError
from mmkg.graph import load_query, run_batches, write_rows

log = logging.getLogger(__name__)

RELEASE_RETRY_S = 3.0
"""How long releasing the lock retries: short, as it mostly fails when Neo4j is gone, after the
publish already waited ``neo4j.retry_seconds`` (a dead holder's lock is taken over anyway)."""

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or wants) the publish lock."""

    owner: str
    """A random token per publish (a pid alone can be reused)."""
    host: str
    pid: int
    run: str
    """The run folder being published."""
    started_at: str = ""

    def describe(self) -> str:
        return f"publish of {self.run} by pid {self.pid} on {self.host}, started {self.started_at}"

    def gone(self) -> bool:
        """True when the holder ran on this host and its process no longer exists."""
        return self.host == socket.gethostname() and not _alive(self.pid)

    def runs_here(self) -> bool:
        """True when the holder ran on this host and its process still exists."""
        return self.host == socket.gethostname() and _alive(self.pid)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (someone else's included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _holder(row: dict) -> LockHolder:
    return LockHolder(owner=row["owner"], host=row["host"], pid=row["pid"], run=row["run"],
                      started_at=row["started_at"])


def _acquire(driver: Driver, database: str, me: LockHolder) -> LockHolder:
    [row] = write_rows(driver, database, load_query("publish_lock_acquire"), owner=me.owner,
                       host=me.host, pid=me.pid, run=me.run)
    return _holder(row)


def _break(driver: Driver, database: str, owner: str | None) -> LockHolder | None:
    rows = write_rows(driver, database, load_query("publish_lock_break"), owner=owner)
    return _holder(rows[0]) if rows else None


@contextlib.contextmanager
def publish_lock(driver: Driver, database: str, run: str, *,
                 force_unlock: bool = False) -> Iterator[LockHolder]:
    """Hold the publish lock for the block (see the module docstring); yield this holder.

    Raises:
        PublishError: another publish holds the lock (the message names it and the way out).
        DatabaseError: Neo4j refused the lock's queries.
    """
    me = LockHolder(owner=uuid.uuid4().hex, host=socket.gethostname(), pid=os.getpid(), run=run)
    holder = _acquire(driver, database, me)
    if holder.owner != me.owner and force_unlock and holder.runs_here():
        raise PublishError(
            f"--force-unlock refused: the lock belongs to a {holder.describe()}, which is still "
            f"running on this host; wait for it to end (or stop process {holder.pid} first)")
    if holder.owner != me.owner and (force_unlock or holder.gone()):
        log.warning("--force-unlock: removed the publish lock of the %s" if force_unlock else
                    "taking over the publish lock of a %s: that process no longer runs",
                    holder.describe())
        _break(driver, database, owner=holder.owner)
        holder = _acquire(driver, database, me)
    if holder.owner != me.owner:
        raise PublishError(
            f"another publish is running ({holder.describe()}); publishes run one at a time: "
            "wait for it, or if it crashed on another host, re-run with --force-unlock")
    try:
        yield holder
    finally:
        try:
            run_batches(driver, database, load_query("publish_lock_release"), [{"owner": me.owner}],
                        batch_size=1, retry_s=RELEASE_RETRY_S)
        except DatabaseError as e:  # never hide the error that ended the block
            log.warning("could not release the publish lock (%s); the next publish on this host "
                        "takes it over, elsewhere use --force-unlock", e)


def holding_publish_lock(publish: Callable[P, R]) -> Callable[P, R]:
    """Decorate ``publish(driver, database, run_dir, ...)`` to run under :func:`publish_lock`;
    the decorated function takes one more keyword, ``force_unlock: bool = False``."""

    @functools.wraps(publish)
    def locked(driver: Driver, database: str, run_dir: Path, *args, force_unlock: bool = False,
               **kwargs):
        with publish_lock(driver, database, str(run_dir), force_unlock=force_unlock):
            return publish(driver, database, run_dir, *args, **kwargs)

    return locked  # type: ignore[return-value]
