"""Create the one driver an mmkg process uses, with errors worded for people."""

from __future__ import annotations

from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import neo4j
from neo4j import Driver, GraphDatabase
from neo4j.exceptions import AuthError, ConfigurationError, ServiceUnavailable

from mmkg.config import Neo4jSettings, Settings
from mmkg.errors import DatabaseError

_RETRY_SECONDS: "WeakKeyDictionary[Driver, float]" = WeakKeyDictionary()
"""The ``neo4j.retry_seconds`` setting of each driver :func:`connect` opened."""


def retry_seconds(driver: Driver) -> float:
    """How long a transaction on ``driver`` may keep being retried, in total: the
    ``neo4j.retry_seconds`` setting it was opened with (the default for other drivers)."""
    return _RETRY_SECONDS.get(driver, Neo4jSettings.model_fields["retry_seconds"].default)


def connect(settings: Settings, *, verify: bool = True) -> Driver:
    """Open a driver to ``settings.neo4j``; with ``verify`` fail fast with a one-line error.

    The driver retries a managed transaction for at most ``neo4j.retry_seconds`` in total.

    Raises:
        DatabaseError: an unusable URI, wrong password, or nothing answering at the URI.
    """
    cfg = settings.neo4j
    try:
        driver = GraphDatabase.driver(
            cfg.bolt_uri, auth=(cfg.user, settings.password()), max_connection_pool_size=16,
            notifications_min_severity="OFF", max_transaction_retry_time=cfg.retry_seconds,
        )
    except (ConfigurationError, ValueError) as e:  # the settings check the URI's form first
        raise DatabaseError(f"cannot use Neo4j URI {cfg.bolt_uri}: {e}") from e
    _RETRY_SECONDS[driver] = cfg.retry_seconds
    if verify:
        try:
            check_connection(driver, settings)
        except DatabaseError:
            driver.close()
            raise
    return driver


def check_connection(driver: Driver, settings: Settings) -> str:
    """Check that ``settings``' server answers and accepts the credentials; return the server
    agent (e.g. ``Neo4j/5.26.30``)."""
    try:
        driver.verify_connectivity()
        return driver.get_server_info().agent
    except AuthError as e:
        raise DatabaseError(rejected_credentials(settings)) from e
    except ServiceUnavailable as e:
        raise DatabaseError(nothing_answering(settings, e)) from e
    except neo4j.exceptions.Neo4jError as e:
        raise DatabaseError(f"Neo4j error: {e.message}") from e


def rejected_credentials(settings: Settings) -> str:
    """What to check when the server refuses the credentials: the configured password, or the
    file the local server's password was generated into (never the password itself)."""
    cfg = settings.neo4j
    rejected = f"Neo4j at {cfg.bolt_uri} rejected user {cfg.user!r}"
    if cfg.password is not None:
        return (f"{rejected} with the configured password (MMKG_NEO4J_PASSWORD or the config's "
                "[neo4j] password): check it and MMKG_NEO4J_USER")
    hint = "was that server started with another MMKG_HOME? " if cfg.is_local_server else ""
    return (f"{rejected} with the password in {settings.password_file}: {hint}"
            "else set MMKG_NEO4J_USER / MMKG_NEO4J_PASSWORD")


def nothing_answering(settings: Settings, error: Exception | None = None) -> str:
    """What to do when nothing answers at the URI: start the local server, or reach the remote
    one; or, when a TLS scheme (``bolt+s``, ``neo4j+ssc``...) met a server without TLS (the
    driver's ``error`` says the encrypted connection failed), use the plain scheme."""
    cfg = settings.neo4j
    scheme = urlsplit(cfg.bolt_uri).scheme
    if "+" in scheme and _encryption_failed(error):
        plain = cfg.bolt_uri.replace(f"{scheme}://", f"{scheme.split('+')[0]}://", 1)
        local = " (the local server of `mmkg db start` has no TLS)" if cfg.is_local_server else ""
        return (f"no encrypted connection to {cfg.bolt_uri}: the server there does not speak TLS"
                f"{local}; use {plain}, or enable TLS on that server")
    if cfg.is_local_server:
        return f"no Neo4j answering at {cfg.bolt_uri}: start the local server with `mmkg db start`"
    return f"no Neo4j answering at {cfg.bolt_uri}: is that server running, and reachable from here?"


def _encryption_failed(error: BaseException | None) -> bool:
    """Whether ``error``, an exception it was raised from, or one of a group's (``neo4j://``
    gathers its routing failures) is the driver's failed TLS handshake."""
    while error is not None:
        if "encrypted connection" in str(error):
            return True
        if isinstance(error, BaseExceptionGroup) and any(map(_encryption_failed, error.exceptions)):
            return True
        error = error.__cause__ or error.__context__
    return False
