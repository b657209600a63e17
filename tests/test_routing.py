"""The routing scheme of clusters and Aura (``neo4j://``) against our standalone server, which
answers routing requests: explicit ``--uri``, schema commands on the leader, reads that see the
process's writes (one bookmark manager per driver)."""

from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.graph import connect, open_session, read_rows, write_rows
from mmkg.graph.schema import apply_schema, reset_database


@pytest.fixture()
def routing_uri(settings) -> str:
    address = urlsplit(settings.neo4j.bolt_uri)
    return f"neo4j://{address.hostname}:{address.port}"


@pytest.fixture()
def routing_driver(settings, server, routing_uri):
    drv = connect(settings.model_copy(update={"neo4j": settings.neo4j.model_copy(update={"uri": routing_uri})}))
    yield drv
    drv.close()


def test_cli_db_commands_with_an_explicit_routing_uri(empty_db, routing_uri):
    runner = CliRunner()
    reset = runner.invoke(cli, ["--uri", routing_uri, "db", "reset", "--yes"])
    assert reset.exit_code == 0, reset.output
    init = runner.invoke(cli, ["--uri", routing_uri, "db", "init"])
    assert init.exit_code == 0, init.output
    assert "schema applied" in init.output


def test_a_read_sees_this_process_writes(routing_driver, database):
    reset_database(routing_driver, database)
    apply_schema(routing_driver, database)
    for n in range(5):
        write_rows(routing_driver, database, "MERGE (:Tag {id: $id})", id=f"tag{n}")
        [row] = read_rows(routing_driver, database, "MATCH (t:Tag) RETURN count(t) AS n")
        assert row["n"] == n + 1
