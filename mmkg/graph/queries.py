"""Load the Cypher queries that live in ``cypher/`` (one query per file, ``$params`` only)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from neo4j import Driver, ManagedTransaction

from mmkg.errors import MmkgError

CYPHER_DIR = Path(str(resources.files("mmkg.cypher")))
"""The installed ``cypher/`` folder (the repository's ``cypher/`` in an editable install)."""


@cache
def load_query(name: str) -> str:
    """Return the text of ``cypher/<name>.cypher`` with ``//`` comment lines removed."""
    path = CYPHER_DIR / f"{name}.cypher"
    try:
        text = path.read_text()
    except OSError as e:
        raise MmkgError(f"missing query file {path}") from e
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")).strip()


def split_statements(text: str) -> list[str]:
    """Split a multi-statement ``.cypher`` file (such as ``schema.cypher``) on ``;``."""
    return [s.strip() for s in text.split(";") if s.strip()]


def _fetch(tx: ManagedTransaction, query: str, params: dict) -> list[dict]:
    return [record.data() for record in tx.run(query, params)]


def read_rows(driver: Driver, database: str, query: str, **params) -> list[dict]:
    """Run a read query in a read transaction (retried on transient errors); rows as dicts."""
    with driver.session(database=database) as session:
        return session.execute_read(_fetch, query, params)


def read_named(driver: Driver, database: str, name: str, **params) -> list[dict]:
    """Run ``cypher/<name>.cypher`` with ``params`` in a read transaction; rows as dicts."""
    return read_rows(driver, database, load_query(name), **params)
