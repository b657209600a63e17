"""Fixtures: a real Neo4j (started here if `make test` has not started it), and a clean database.

Tests never mock the database. They talk to the server configured by ``MMKG_*`` settings
(by default the project-local one on 127.0.0.1:7687).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mmkg.config import Settings, load_settings
from mmkg.graph import connect
from mmkg.graph.schema import apply_schema, reset_database
from mmkg.server import server_for

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"
LASTFM = SHARED_DATASETS / "lastfm-kgcn"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def server(settings):
    srv = server_for(settings)
    srv.start(timeout=180)
    return srv


@pytest.fixture(scope="session")
def driver(settings, server):
    drv = connect(settings)
    yield drv
    drv.close()


@pytest.fixture(scope="session")
def database(settings) -> str:
    return settings.neo4j.database


@pytest.fixture()
def empty_db(driver, database):
    """An empty database with mmkg's schema applied."""
    reset_database(driver, database)
    apply_schema(driver, database)
    return driver


def count(driver, database: str, query: str, **params) -> int:
    """Run a query returning one integer column ``n``."""
    records, _, _ = driver.execute_query(query, params, database_=database)
    return records[0]["n"]
