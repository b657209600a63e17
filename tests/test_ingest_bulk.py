"""``mmkg ingest --bulk``: Neo4j's offline importer writes exactly the graph online ingest writes.

These tests stop and restart the suite's own server (the importer refuses a running database).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.config import load_settings
from mmkg.errors import IngestError
from mmkg.graph import load_query, run_implicit
from mmkg.graph.schema import reset_database
from mmkg.ingest.bulk import ImportFiles, run_import
from mmkg.ingest.pipeline import ingest
from mmkg.server.local import LocalServer
from tests.malformed import graph_state, write_valid_catalog
from tests.test_ingest_kgcn import write_mkgcn


def schema_names(driver, database) -> list[str]:
    return sorted(r["name"] for r in run_implicit(driver, database, load_query("schema_index_names")))


@pytest.mark.parametrize("fmt", ["catalog", "mkgcn"])
def test_bulk_graph_equals_online_graph(empty_db, database, server, tmp_path, fmt):
    root = (write_valid_catalog(tmp_path / "catalog") if fmt == "catalog"
            else write_mkgcn(tmp_path / "mkgcn"))
    with (root / ("artists.csv" if fmt == "catalog" else "kg.txt")).open("a") as handle:
        # quotes, a comma and a line break in a name; a repeated triple
        handle.write('a4,"The ""Quoted"", Band\nof two lines"\n' if fmt == "catalog"
                     else "0\tmusic.artist.genre\t100\n")
    online = ingest(empty_db, database, root, fmt=fmt, features=False, progress=False)
    expected = graph_state(empty_db, database)
    schema = schema_names(empty_db, database)

    reset_database(empty_db, database)
    bulk = ingest(empty_db, database, root, fmt=fmt, features=False, progress=False, bulk=server)
    assert bulk.bulk and bulk.merged == online.merged
    assert graph_state(empty_db, database) == expected
    assert schema_names(empty_db, database) == schema
    assert (bulk.nodes_created, bulk.relationships_created) == (
        online.nodes_created, online.relationships_created)

    again = ingest(empty_db, database, root, fmt=fmt, features=False, progress=False)
    assert (again.nodes_created, again.relationships_created) == (0, 0)  # online MERGE after bulk


def test_bulk_refuses_a_database_that_holds_nodes(empty_db, database, server, tmp_path):
    root = write_valid_catalog(tmp_path / "catalog")
    ingest(empty_db, database, root, features=False, progress=False)
    before = graph_state(empty_db, database)
    with pytest.raises(IngestError, match=r"--bulk loads an empty database only, and database "
                                          r"'neo4j' holds 23 nodes"):
        ingest(empty_db, database, root, features=False, progress=False, bulk=server)
    assert graph_state(empty_db, database) == before
    assert server.pid() is not None


def test_cli_bulk_refuses_a_remote_server(tmp_path):
    root = write_valid_catalog(tmp_path / "catalog")
    result = CliRunner().invoke(cli, ["--uri", "bolt://db.example.org:7687", "ingest", str(root),
                                      "--bulk"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: --bulk runs Neo4j's offline importer on the local server's own files and cannot "
        "load bolt://db.example.org:7687, not the local server: ingest without --bulk (online writes)"]


def test_the_importers_own_reason_is_in_the_one_line(tmp_path, monkeypatch):
    """Issue 21, finding 12: the importer failed with "Run with '--verbose'..." and no reason.
    A field the importer cannot read (validation now refuses such cells: ``title_too_long`` in
    ``tests/malformed/``) is written straight into its CSV and imported into a throwaway store."""
    monkeypatch.setenv("MMKG_HOME", str(tmp_path / "home"))
    server = LocalServer(load_settings())
    files = ImportFiles(tmp_path)
    (tmp_path / "nodes-0.csv").write_text('id:ID(Track),title:string\n"t1","' + "x" * 6_000_000
                                          + '"\n')
    files.nodes.append(("Track", tmp_path / "nodes-0.csv"))
    with pytest.raises(IngestError) as info:
        run_import(server, files, "neo4j")
    assert info.value.problems == [
        "the Neo4j importer failed (exit 70): Weird input data, no newline character in the "
        "whole buffer 4194304, not supported a.t.m.; the database is empty again"]
