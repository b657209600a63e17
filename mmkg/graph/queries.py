"""The one route from Python to Cypher text: every statement lives in ``cypher/<name>.cypher``.

A query file holds one statement (``schema.cypher``: several, split on ``;``), a header of ``//``
comments naming its parameters and returned columns, and ``$params`` for every value. Labels,
relationship types and index names cannot be parameters: a file marks where one goes with a
``__SLOT__`` placeholder, and :func:`render` fills it with a backtick-quoted identifier.

Clusters and Aura (``neo4j://`` / ``neo4j+s://`` URIs): every session comes from
:func:`open_session`, which names its access mode, so the routing driver sends read
transactions (:func:`read_rows`, ``execute_read``) to followers or read replicas and write
transactions and implicit transactions (schema commands, ``CALL … IN TRANSACTIONS``) to the
leader; and which shares one bookmark manager per driver, so a read in an mmkg process always sees
that process's earlier writes (causal consistency), whichever member answers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TypeVar
from weakref import WeakKeyDictionary

from neo4j import READ_ACCESS, WRITE_ACCESS, Driver, GraphDatabase, ManagedTransaction, Session
from neo4j.api import BookmarkManager
from neo4j.exceptions import IncompleteCommit, Neo4jError

from mmkg.errors import DatabaseError, MmkgError
from mmkg.schema import quote

CYPHER_DIR = Path(str(resources.files("mmkg.cypher")))
"""The installed ``cypher/`` folder (the repository's ``cypher/`` in an editable install)."""

T = TypeVar("T")

PLACEHOLDER = re.compile(r"__[A-Z]+__")
"""A template slot in a query file: ``__LABEL__``, ``__REL__``, ``__PREDICATE__``..."""


class TrustedCypher(str):
    """Cypher text written by the operator (``mmkg export --where``), pasted into a slot as is.

    Never wrap text that comes from data or from other users in it.
    """


@cache
def load_query(name: str | Path) -> str:
    """The text of ``cypher/<name>.cypher`` (or, given a :class:`~pathlib.Path`, of that file:
    the benchmarks keep their own queries in ``bench/cypher/``) without its ``//`` comment lines
    (read once).

    Raises:
        MmkgError: no such file.
    """
    path = name if isinstance(name, Path) else CYPHER_DIR / f"{name}.cypher"
    try:
        text = path.read_text()
    except OSError as e:
        raise MmkgError(f"missing query file {path}") from e
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")).strip()


def load_statements(name: str | Path) -> list[str]:
    """The ``;``-separated statements of a multi-statement file such as ``schema.cypher``."""
    return [s.strip() for s in load_query(name).split(";") if s.strip()]


def render(name: str, /, **slots: str | Enum) -> str:
    """``cypher/<name>.cypher`` with each ``__KEY__`` slot filled by ``slots[key]``.

    A slot value is an identifier (a schema enum member or any string), put in backtick-quoted by
    :func:`mmkg.schema.quote`, so it can never end its slot early; or a :class:`TrustedCypher`,
    pasted as is. Validating names that come from data (``mmkg.schema.kg_relation_type``) is the
    caller's job, before rendering.

    Raises:
        ValueError: a slot the file does not have, or a slot of the file left unfilled.
    """
    text = load_query(name)
    for key, value in slots.items():
        placeholder = f"__{key.upper()}__"
        if placeholder not in text:
            raise ValueError(f"cypher/{name}.cypher has no slot {placeholder}")
        if isinstance(value, Enum):
            value = value.value
        text = text.replace(placeholder, value if isinstance(value, TrustedCypher) else quote(value))
    leftover = sorted(set(PLACEHOLDER.findall(text)))
    if leftover:
        raise ValueError(f"cypher/{name}.cypher: unfilled slot(s) {', '.join(leftover)}")
    return text


_BOOKMARKS: WeakKeyDictionary[Driver, BookmarkManager] = WeakKeyDictionary()


def open_session(driver: Driver, database: str, *, read: bool = False, **config) -> Session:
    """A session on ``database`` for reads (``read``: routed to followers / read replicas) or
    writes (the leader), sharing the driver's bookmark manager (causal consistency across the
    sessions of this process). Explicit ``execute_read`` / ``execute_write`` transactions route
    by themselves; the access mode decides where implicit transactions run.
    """
    bookmarks = _BOOKMARKS.get(driver)
    if bookmarks is None:
        bookmarks = _BOOKMARKS[driver] = GraphDatabase.bookmark_manager()
    return driver.session(database=database, default_access_mode=READ_ACCESS if read else WRITE_ACCESS,
                          bookmark_manager=bookmarks, **config)


def renew_bookmarks(driver: Driver, database: str) -> None:
    """Replace the bookmarks this process holds for ``driver`` (its sessions' and
    ``driver.execute_query``'s) by one of ``database``'s current store, after the store was
    replaced underneath (``mmkg ingest --bulk``): the old ones name transactions of the old
    store, which the new one, numbered afresh, never reaches, so every later query would wait
    for them and fail."""
    _BOOKMARKS[driver] = GraphDatabase.bookmark_manager()
    with open_session(driver, database) as session:
        session.run(load_query("count_nodes")).consume()
        fresh = session.last_bookmarks()
    manager = driver.execute_query_bookmark_manager
    manager.update_bookmarks(manager.get_bookmarks(), fresh.raw_values)


def _fetch(tx: ManagedTransaction, query: str, params: dict) -> list[dict]:
    return [record.data() for record in tx.run(query, params)]


def _in_session(driver: Driver, database: str, kind: str, work: Callable[[Session], T],
                *, read: bool = False) -> T:
    """``work(session)`` in a new session; a Neo4j error becomes one-line :class:`DatabaseError`."""
    try:
        with open_session(driver, database, read=read) as session:
            return work(session)
    except IncompleteCommit as e:
        raise DatabaseError.commit_unknown(f"a {kind}") from e
    except Neo4jError as e:
        raise DatabaseError(f"Neo4j refused a {kind}: {e.message}") from e


def read_rows(driver: Driver, database: str, query: str, **params) -> list[dict]:
    """Run a read query in a read transaction (retried on transient errors); rows as dicts.

    Raises:
        DatabaseError: Neo4j refused the query.
    """
    return _in_session(driver, database, "read", lambda session: session.execute_read(_fetch, query, params),
                       read=True)


def read_named(driver: Driver, database: str, name: str, **params) -> list[dict]:
    """Run ``cypher/<name>.cypher`` with ``params`` in a read transaction; rows as dicts."""
    return read_rows(driver, database, load_query(name), **params)


def read_together(driver: Driver, database: str,
                  work: Callable[[Callable[..., list[dict]]], T]) -> T:
    """Run ``work(read)`` in ONE read transaction, where ``read(name, **params)`` runs
    ``cypher/<name>.cypher`` in it and returns its rows as dicts; return what ``work`` returns.

    For answers whose parts must come from the same place (a cluster member) and the same
    moment as far as Neo4j allows. Neo4j reads *committed* data per statement, so a write that
    commits between two statements is seen by the second: a query whose rows must agree with a
    value (the current model) reads that value itself. The transaction is retried as a whole on
    transient errors, so ``work`` must only read.

    Raises:
        DatabaseError: Neo4j refused a query.
    """
    def unit(tx: ManagedTransaction) -> T:
        return work(lambda name, **params: _fetch(tx, load_query(name), params))

    return _in_session(driver, database, "read", lambda session: session.execute_read(unit),
                       read=True)


def write_rows(driver: Driver, database: str, query: str, **params) -> list[dict]:
    """Run ``query`` in one write transaction (retried on transient errors, so it must be
    idempotent); rows as dicts.

    Raises:
        DatabaseError: Neo4j refused the query.
    """
    return _in_session(driver, database, "write", lambda session: session.execute_write(_fetch, query, params))


def run_implicit(driver: Driver, database: str, query: str, **params) -> list[dict]:
    """Run ``query`` in an implicit (auto-commit) transaction, as ``CALL { … } IN TRANSACTIONS``
    and schema commands (creating or listing indexes) need; rows as dicts. It runs on the
    leader of a cluster (a write session): schema changes and batched writes must, and a
    listing there sees the schema this process just changed.

    Raises:
        DatabaseError: Neo4j refused the query.
    """
    return _in_session(driver, database, "query",
                       lambda session: [record.data() for record in session.run(query, params)])
