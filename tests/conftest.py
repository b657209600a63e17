"""Fixtures: a real Neo4j (started here if `make test` has not started it, and then stopped at
the end), and a clean database.

Tests never mock the database. They talk to the server configured by ``MMKG_*`` settings; with
none (a bare ``pytest``), to :data:`TEST_SERVER`, the one ``make test`` runs (127.0.0.1:7688,
data in ``.mmkg/test``), never the demo's: the suite empties the database it is given. CLI tests
that reach Neo4j take the ``uri_scheme`` fixture and so run twice: over ``bolt://`` (a direct
connection) and over ``neo4j://`` (the routing scheme of clusters and Aura, which a standalone
Neo4j 5 also answers).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mmkg.config import Settings, load_settings
from mmkg.graph import connect
from mmkg.graph.schema import apply_schema, reset_database
from mmkg.server import server_for

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"
LASTFM = SHARED_DATASETS / "lastfm-kgcn"
TEST_SERVER = {"MMKG_HOME": str(ROOT / ".mmkg" / "test"), "MMKG_NEO4J_BOLT_PORT": "7688",
               "MMKG_NEO4J_HTTP_PORT": "7475", "MMKG_NEO4J_HEAP": "1g", "MMKG_NEO4J_PAGECACHE": "1g"}
"""The server of a bare ``pytest``: ``make test``'s (the Makefile's ``TEST_ENV``)."""
CHOSEN_SERVER = ("MMKG_HOME", "MMKG_NEO4J_URI", "MMKG_NEO4J_BOLT_PORT", "MMKG_CONFIG")
"""Settings that say which server to use: with any of them set, the suite uses that one."""


def use_test_server_unless_configured(environ: MutableMapping[str, str], cwd: Path) -> None:
    """Put :data:`TEST_SERVER` into ``environ`` unless it names a server (:data:`CHOSEN_SERVER`)
    or ``cwd`` holds an ``mmkg.toml``: a bare ``pytest`` after ``make demo`` emptied the demo's
    database and left its server running."""
    if not any(key in environ for key in CHOSEN_SERVER) and not (cwd / "mmkg.toml").exists():
        environ.update(TEST_SERVER)


use_test_server_unless_configured(os.environ, Path.cwd())


@pytest.fixture(scope="session", autouse=True)
def temporary_folders_under_pytest(tmp_path_factory):
    """Every temporary folder the suite makes through ``tempfile`` lives under pytest's own
    temporary root (which pytest prunes to the last three runs), not loose in the system's
    temporary folder where each run used to leave a few hundred."""
    previous = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tempfile"))
    yield
    tempfile.tempdir = previous


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def server(settings):
    """The configured server, started if it is not running (and then stopped at the end)."""
    srv = server_for(settings)
    started = srv.start(timeout=180)
    yield srv
    if started:
        srv.stop()


@pytest.fixture(scope="session")
def driver(settings, server):
    drv = connect(settings)
    yield drv
    drv.close()


URI_SCHEMES = ("bolt", "neo4j")
"""Direct and routing Bolt schemes every CLI test runs under."""


@pytest.fixture(params=URI_SCHEMES)
def uri_scheme(request, settings, monkeypatch) -> str:
    """The test's CLI invocations (and subprocesses) connect with ``--uri <scheme>://host:port``:
    ``MMKG_NEO4J_URI`` is the ``--uri`` option's environment variable."""
    address = urlsplit(settings.neo4j.bolt_uri)
    monkeypatch.setenv("MMKG_NEO4J_URI", f"{request.param}://{address.hostname}:{address.port}")
    return request.param


@pytest.fixture(scope="session")
def database(settings) -> str:
    return settings.neo4j.database


@pytest.fixture()
def empty_db(driver, database):
    """An empty database with mmkg's schema applied."""
    reset_database(driver, database)
    apply_schema(driver, database)
    return driver


@pytest.fixture(scope="module")
def export_graph_db(driver, database):
    """The small graph of ``tests/export_graph.py`` (schema applied), once per test module."""
    from tests import export_graph

    reset_database(driver, database)
    apply_schema(driver, database)
    export_graph.build(driver, database)
    return driver


def count(driver, database: str, query: str, **params) -> int:
    """Run a query returning one integer column ``n``."""
    records, _, _ = driver.execute_query(query, params, database_=database)
    return records[0]["n"]
