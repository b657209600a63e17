"""``mmkg db dump FILE`` / ``mmkg db load FILE`` (``mmkg/server/backup.py``): a dump gives back
the graph, its indexes and what ``recommend`` served from it; a file that does not load leaves
the database as it was; the server runs again after each."""

from __future__ import annotations

from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.graph import renew_bookmarks
from mmkg.graph.schema import reset_database
from mmkg.publish.writer import publish
from mmkg.recommend import for_user, similar_tracks
from tests.demo_graph import build_demo_graph, write_run
from tests.malformed import graph_state


def answers(driver, database) -> tuple:
    return ([r["trackId"] for r in for_user(driver, database, "u0", k=5).rows],
            [r["trackId"] for r in similar_tracks(driver, database, "t0", k=5)])


def test_a_dump_loads_back_and_a_bad_file_changes_nothing(empty_db, database, server, tmp_path):
    build_demo_graph(empty_db, database)
    publish(empty_db, database, write_run(tmp_path / "run-a"), progress=False)
    state, served = graph_state(empty_db, database), answers(empty_db, database)
    dump = tmp_path / "backups" / "mmkg.dump"

    out = CliRunner().invoke(cli, ["db", "dump", str(dump)])
    assert out.exit_code == 0, out.output
    assert f"dumped database '{database}' to {dump}" in out.output and dump.stat().st_size > 0
    assert server.pid() is not None
    again = CliRunner().invoke(cli, ["db", "dump", str(dump)])
    assert again.exit_code == 2 and "exists: give --force to replace it" in again.output

    bad = tmp_path / "not.dump"
    bad.write_text("not a dump\n")
    out = CliRunner().invoke(cli, ["db", "load", str(bad), "--yes"])
    assert out.exit_code == 1
    assert out.output.strip().splitlines() == [
        f"Error: neo4j-admin database load failed: Failed to load database '{database}': "
        f"Not a valid Neo4j archive: {bad}"]
    assert server.pid() is not None
    assert graph_state(empty_db, database) == state  # set aside, then put back
    assert not list((server.home / "data" / "databases").glob(".*before-load"))

    reset_database(empty_db, database)
    out = CliRunner().invoke(cli, ["db", "load", str(dump), "--yes"])
    assert out.exit_code == 0, out.output
    renew_bookmarks(empty_db, database)  # the loaded store numbers its transactions afresh
    assert graph_state(empty_db, database) == state
    assert answers(empty_db, database) == served  # the vector index came back too


def test_dump_and_load_refuse_another_server(tmp_path):
    dump = tmp_path / "x.dump"
    dump.write_text("x")
    for args in (["db", "dump", str(tmp_path / "y.dump")], ["db", "load", str(dump), "--yes"]):
        out = CliRunner().invoke(cli, ["--uri", "bolt://db.example.org:7687", *args])
        assert out.exit_code == 1
        [line] = out.output.strip().splitlines()
        assert "on the local server's own files and cannot" in line
        assert "bolt://db.example.org:7687, not the local server" in line
