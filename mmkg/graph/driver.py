"""Create the one driver an mmkg process uses, with errors worded for people."""

from __future__ import annotations

import neo4j
from neo4j import Driver, GraphDatabase
from neo4j.exceptions import AuthError, ServiceUnavailable

from mmkg.config import Settings
from mmkg.errors import DatabaseError


def connect(settings: Settings, *, verify: bool = True) -> Driver:
    """Open a driver to ``settings.neo4j``; with ``verify`` fail fast with a one-line error.

    Raises:
        DatabaseError: wrong password, or nothing answering at the URI.
    """
    cfg = settings.neo4j
    driver = GraphDatabase.driver(
        cfg.bolt_uri, auth=(cfg.user, settings.password()), max_connection_pool_size=16,
        notifications_min_severity="OFF",
    )
    if verify:
        try:
            check_connection(driver, cfg.bolt_uri)
        except DatabaseError:
            driver.close()
            raise
    return driver


def check_connection(driver: Driver, uri: str) -> str:
    """Check that ``uri`` answers and accepts the credentials; return the server agent
    (e.g. ``Neo4j/5.26.30``)."""
    try:
        driver.verify_connectivity()
        return driver.get_server_info().agent
    except AuthError as e:
        raise DatabaseError(
            "Neo4j rejected the credentials: check MMKG_NEO4J_USER / MMKG_NEO4J_PASSWORD "
            "(or .mmkg/neo4j-password for the local server)"
        ) from e
    except ServiceUnavailable as e:
        raise DatabaseError(
            f"no Neo4j answering at {uri}: start the local server with `mmkg db start`"
        ) from e
    except neo4j.exceptions.Neo4jError as e:
        raise DatabaseError(f"Neo4j error: {e.message}") from e
