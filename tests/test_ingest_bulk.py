"""``mmkg ingest --bulk``: Neo4j's offline importer writes exactly the graph online ingest writes.

These tests stop and restart the suite's own server (the importer refuses a running database).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.config import load_settings
from mmkg.errors import IngestError
from mmkg.graph import connect, load_query, run_implicit
from mmkg.graph.schema import reset_database
from mmkg.ingest.bulk import ADMIN_TOOL, ImportFiles, count_nodes, run_import
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
    if fmt == "catalog":  # a catalog's own columns: an integer with a gap, a float, text
        (root / "albums.csv").write_text("id,title,artist_id,year,length_min,label\n"
                                         "al1,First,a1,,41.5,Sub Pop\nal2,Second,a2,1999,38,\n")
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


OWN_BOLT_PORT, OWN_HTTP_PORT = 7791, 7591
"""This module's throwaway server, for the tests that kill or interrupt ``ingest --bulk``."""


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """The environment of a throwaway local server (its own home and ports), started once and
    stopped at the end: an interrupted import leaves the suite's server alone."""
    home = tmp_path_factory.mktemp("bulk-server")
    env = {k: v for k, v in os.environ.items() if k != "MMKG_NEO4J_URI"}
    env.update(MMKG_HOME=str(home), MMKG_NEO4J_BOLT_PORT=str(OWN_BOLT_PORT),
               MMKG_NEO4J_HTTP_PORT=str(OWN_HTTP_PORT), MMKG_NEO4J_HEAP="512m",
               MMKG_NEO4J_PAGECACHE="256m")
    started = mmkg_run(env, "db", "start")
    assert started.returncode == 0, started.stderr
    try:
        yield env
    finally:
        mmkg_run(env, "db", "stop")


def mmkg_run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mmkg", *args], env=env, capture_output=True,
                          text=True, timeout=600)


def own_state(env: dict) -> tuple[int, int]:
    """(nodes, constraints) of the throwaway server's database."""
    with mock.patch.dict(os.environ, env, clear=True):
        settings = load_settings()
    with connect(settings) as driver:
        nodes = count_nodes(driver, settings.neo4j.database)
        constraints = len(run_implicit(driver, settings.neo4j.database,
                                       load_query("schema_constraint_names")))
    return nodes, constraints


def leftovers(env: dict) -> list[str]:
    """Import folders and records left in the throwaway server's home."""
    home = Path(env["MMKG_HOME"]) / "neo4j"
    return sorted(p.name for p in [*home.glob("bulk-*"), *home.glob("run/offline-import*")])


@contextlib.contextmanager
def bulk_with_a_held_importer(env: dict, root: Path):
    """Start ``mmkg ingest ROOT --bulk``, wait for its importer and stop that (SIGSTOP), so the
    import is certainly in flight: yields (the mmkg process, the importer process); kills
    both at the end if they still run."""
    import psutil

    def is_importer(process: psutil.Process) -> bool:
        try:
            return ADMIN_TOOL in process.cmdline()
        except psutil.Error:  # `java -version`, gone meanwhile
            return False

    # SIGINT at its default in the child, so Python turns it into KeyboardInterrupt even when
    # this run inherited it ignored (a background job of a non-interactive shell, e.g. `nohup`)
    ingest_cmd = subprocess.Popen([sys.executable, "-m", "mmkg", "ingest", str(root), "--bulk",
                                   "--no-features"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    importers: list[psutil.Process] = []
    try:
        while not importers:
            assert ingest_cmd.poll() is None, ingest_cmd.communicate()
            importers = [p for p in psutil.Process(ingest_cmd.pid).children() if is_importer(p)]
            time.sleep(0.02)
        importers[0].suspend()
        yield ingest_cmd, importers[0]
    finally:
        if ingest_cmd.poll() is None:
            ingest_cmd.kill()
            ingest_cmd.communicate()
        for importer in importers:
            if importer.is_running():  # an orphan, when the importer does not die with mmkg
                importer.kill()


def test_ctrl_c_during_a_bulk_import_leaves_an_empty_database_with_the_schema(own_server,
                                                                             tmp_path):
    """Issue 21, finding 4: Ctrl-C during the import left an empty database without
    constraints."""
    root = write_valid_catalog(tmp_path / "catalog")
    with bulk_with_a_held_importer(own_server, root) as (ingest_cmd, importer):
        ingest_cmd.send_signal(signal.SIGINT)
        _, err = ingest_cmd.communicate(timeout=300)
        assert ingest_cmd.returncode == 130 and "Traceback" not in err
        assert err.strip().splitlines()[-1] == ("Error: interrupted: re-running the same command "
                                                "completes it")
        assert not importer.is_running() or importer.status() == "zombie"
    assert own_state(own_server) == (0, 11)  # the server runs again, with the schema
    assert leftovers(own_server) == []


def test_a_killed_bulk_import_leaves_no_importer_and_db_start_finishes_it(own_server, tmp_path):
    """Issue 21, finding 4: after `kill -9` of `mmkg ingest --bulk` during the import, the
    importer ran on as an orphan, and `db start` served its store without constraints, the
    catalog left as CSV files in the server's folder. Now the importer dies with mmkg (no
    process outlives it by more than 5 s) and `db start` removes the unfinished store and the
    CSV files, applies the schema and says so."""
    import psutil

    root = write_valid_catalog(tmp_path / "catalog")
    with bulk_with_a_held_importer(own_server, root) as (ingest_cmd, importer):
        ingest_cmd.kill()
        ingest_cmd.communicate()
        _, alive = psutil.wait_procs([importer], timeout=5)
        assert [p.pid for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []
    assert leftovers(own_server) != []  # the record and CSV files of the killed import
    started = mmkg_run(own_server, "db", "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines()[0].startswith(
        "an interrupted `mmkg ingest --bulk` (pid ")
    assert "its unfinished import removed (database 'neo4j' is empty: run it again), the schema " \
        "applied, its CSV files removed" in started.stdout
    assert own_state(own_server) == (0, 11)
    assert leftovers(own_server) == []
    again = mmkg_run(own_server, "ingest", str(root), "--bulk", "--no-features")
    assert again.returncode == 0, again.stderr
    assert own_state(own_server) == (23, 11)  # the valid catalog's nodes
