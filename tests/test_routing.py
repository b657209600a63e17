"""The routing scheme of clusters and Aura (``neo4j://``) against our standalone server, which
answers routing requests: explicit ``--uri``, schema commands on the leader, reads and writes;
and the bookmark of a write on the wire of the next read (one bookmark manager per driver)."""

from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.graph import connect, open_session, read_rows, write_rows
from mmkg.graph.schema import apply_schema, reset_database, schema_statements
from tests.bolt_proxy import CommitCutter


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
    assert f"schema applied: the {len(schema_statements())} constraints/indexes of cypher/schema.cypher\n" \
        == init.output


def test_reads_and_writes_route_through_the_routing_scheme(routing_driver, database):
    reset_database(routing_driver, database)
    apply_schema(routing_driver, database)
    for n in range(5):
        write_rows(routing_driver, database, "MERGE (:Tag {id: $id})", id=f"tag{n}")
        [row] = read_rows(routing_driver, database, "MATCH (t:Tag) RETURN count(t) AS n")
        assert row["n"] == n + 1


def test_a_read_begins_with_the_bookmark_of_this_process_last_write(settings, empty_db, database):
    """What lets a cluster follower serve a read only after it has this process's writes: the read
    sends the write's bookmark. Read on the wire (a recording proxy in front of the real server):
    a session without the driver's shared bookmark manager would begin with none."""
    with CommitCutter(settings.neo4j.bolt_port, cut_at=10**9) as proxy:
        drv = connect(settings.model_copy(update={"neo4j": settings.neo4j.model_copy(update={"uri": proxy.uri})}))
        try:
            with open_session(drv, database) as session:
                session.run("MERGE (:Tag {id: 'bookmarked'})").consume()
                bookmarks = session.last_bookmarks().raw_values
            sent_before_read = len(proxy.sent)
            [row] = read_rows(drv, database, "MATCH (t:Tag {id: 'bookmarked'}) RETURN count(t) AS n")
        finally:
            drv.close()
    assert row["n"] == 1 and bookmarks
    read_traffic = bytes(proxy.sent[sent_before_read:])
    assert all(b.encode() in read_traffic for b in bookmarks), bookmarks
