"""Regression tests of the reliability and security audit (issue 10), items 2, 10, 11 and 12.

Each test names its audit item. The cases that kill Neo4j use a throwaway server of their own
(a temporary MMKG_HOME, Bolt/HTTP ports one above the test server's), started and killed here,
so the shared test server is never harmed; "dies while committing" uses a proxy in front of the
test server (tests/bolt_proxy.py).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mmkg.train.run_folder import check_out_folder
from mmkg.config import check_bolt_uri
from mmkg.errors import DatabaseError, RunFolderError
from mmkg.graph import connect, run_batches
from mmkg.graph.batch import retry_delays
from mmkg.server.local import LocalServer
from mmkg.publish.writer import read_run
from mmkg.train.run_folder import RunFolder
from tests.bolt_proxy import CommitCutter
from tests.conftest import ROOT, count
from tests.demo_graph import N_TRACKS, N_USERS, build_demo_graph, write_run
from tests.test_cli_errors import assert_one_line_error, mmkg, unused_port


# -- item 2: a crafted pickle never runs ----------------------------------------------------------

class RunsCode:
    """Pickles to "call os.system(command)": what a malicious .pt file holds."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize("file, command", [
    (RunFolder.EMBEDDINGS, ("publish", "{run}")),
    (RunFolder.MODEL, ("eval", "--run", "{run}")),
], ids=["publish-embeddings", "eval-model"])
def test_crafted_pickle_in_a_run_folder_is_refused_and_never_runs(empty_db, tmp_path, file, command):
    """Audit item 2 (torch.load weights_only): the payload would create ``marker``."""
    run = write_run(tmp_path / "run")
    marker = tmp_path / "payload-ran"
    torch.save({"track": RunsCode(f"touch {marker}")}, run / file)
    done = mmkg(*(part.format(run=run) for part in command))
    assert_one_line_error(done, 1, f"{run / file}: unreadable", "could run code")
    assert not marker.exists()


@pytest.mark.parametrize("file", ["modalities.pt", "fastrp.pt"])
def test_crafted_pickle_in_an_export_folder_is_refused_and_never_runs(tmp_path, file):
    """Audit item 2, export folders (``mmkg train --export``): refused on one line, not run."""
    from tests.synthetic_export import make_export

    export = tmp_path / "export"
    make_export().save(export)
    marker = tmp_path / "payload-ran"
    torch.save({"track": RunsCode(f"touch {marker}")}, export / file)
    done = mmkg("train", "--export", export, "--out", tmp_path / "run", "--set", "epochs=1")
    assert_one_line_error(done, 1, f"{export}: unreadable export folder", "mmkg export")
    assert not marker.exists()


# -- item 10: one line instead of a traceback -----------------------------------------------------

@pytest.mark.parametrize("uri", ["bolt://127.0.0.1:7687", "bolt+s://db.example.org",
                                 "bolt+ssc://db:7687", "neo4j://db", "neo4j+s://db:7687",
                                 "neo4j+ssc://db:7687?policy=eu"])
def test_bolt_and_neo4j_uris_are_accepted(uri):
    assert check_bolt_uri(uri) == uri


@pytest.mark.parametrize("uri", ["http://127.0.0.1:7474", "bolt://127.0.0.1:notaport",
                                 "bolt://127.0.0.1:0", "bolt://127.0.0.1:65536", "bolt://:7687",
                                 "bolt://user:secret@db:7687", "bolt://db:7687/path",
                                 "bolt://db:7687?policy=eu", "localhost"])
def test_other_uris_are_refused(uri):
    with pytest.raises(ValueError, match=r"expected bolt\|"):
        check_bolt_uri(uri)


def test_unwritable_out_fails_before_touching_neo4j(tmp_path):
    """Audit item 10: --out under a file (a read-only or missing place alike) used to fail only
    after exporting the whole database. Neo4j is not even reachable here: the check comes first."""
    (tmp_path / "a-file").write_text("")
    done = mmkg("--uri", f"bolt://127.0.0.1:{unused_port()}", "train", "--out",
                tmp_path / "a-file" / "run")
    assert_one_line_error(done, 1, f"--out {tmp_path / 'a-file' / 'run'}: cannot write a run "
                          "folder there (Not a directory)")


def test_out_on_a_full_filesystem_is_refused(tmp_path):
    """Audit item 10 (full --out): the free space of OUT's real filesystem is compared with what
    a run needs; asking for more than there is must fail with the numbers."""
    free_mib = shutil.disk_usage(tmp_path).free / 2**20
    check_out_folder(tmp_path / "run", min_free_mib=1)
    with pytest.raises(RunFolderError, match=r"MiB free on its filesystem; a run needs at least"):
        check_out_folder(tmp_path / "run", min_free_mib=free_mib + 1024)


def test_export_onto_a_full_filesystem_is_one_line(tmp_path, monkeypatch):
    """Issue 21, finding 10: `mmkg export` onto a full filesystem ended in a writer's traceback.
    It now makes the free-space check `mmkg train` makes of its --out (here asked for more than
    OUT's real filesystem has), before it reaches Neo4j (a dead port here) or writes anything."""
    from click.testing import CliRunner

    from mmkg.cli import cli
    from mmkg.train import run_folder

    monkeypatch.setattr(run_folder, "MIN_FREE_MIB", shutil.disk_usage(tmp_path).free / 2**20 + 1024)
    result = CliRunner().invoke(cli, ["--uri", f"bolt://127.0.0.1:{unused_port()}", "export",
                                      str(tmp_path / "export")])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert re.fullmatch(r"Error: \S+/export: only \d+ MiB free on its filesystem; an export needs "
                        r"at least \d+ MiB \(graph, listens, split, features\)", line), line
    assert list(tmp_path.iterdir()) == []


def test_server_dying_while_committing_is_one_line_and_a_rerun_completes(empty_db, database,
                                                                         settings, tmp_path):
    """Audit item 10 (IncompleteCommit): Neo4j goes away after receiving the COMMIT of the first
    staging batch of a publish (commit 1 takes the publish lock, commit 2 reads the current vector
    slot on the leader, commits 3 and 4 read the slot's stale track and user vectors): whether it
    was applied is
    unknown. One line says so; the graph stays consistent; re-running completes the publish
    (taking over the lock the dead publish could not release)."""
    build_demo_graph(empty_db, database)
    run = write_run(tmp_path / "run")
    with CommitCutter(settings.neo4j.bolt_port, cut_at=5) as proxy:
        done = mmkg("--uri", proxy.uri, "publish", run, "--rows-per-tx", "1",
                    env={"MMKG_NEO4J_RETRY_SECONDS": "1"})
    assert proxy.cut.is_set()
    last = done.stderr.splitlines()[-1]
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "Neo4j went away while committing a batch of writes" in last
    assert "re-running the command completes it" in last
    assert count(empty_db, database, "MATCH (m:Model {current: true}) RETURN count(m) AS n") == 0

    rerun = mmkg("publish", run)
    assert rerun.returncode == 0, rerun.stderr
    assert "taking over the publish lock" in rerun.stderr
    model = read_run(run).model_id
    assert count(empty_db, database, "MATCH (m:Model {id: $m, current: true}) RETURN count(m) AS n",
                 m=model) == 1
    assert count(empty_db, database, "MATCH (m:Model {current: true}) MATCH (n:Track|User) "
                 "WHERE n[m.vector_property] IS NOT NULL RETURN count(n) AS n") == N_TRACKS + N_USERS


# -- item 11: bounded retries -----------------------------------------------------------------

def test_retry_waits_double_and_fill_the_budget_exactly():
    assert retry_delays(30) == [1, 2, 4, 8, 8, 7]
    assert retry_delays(2.5) == [1, 1.5]
    assert retry_delays(0.5) == [0.5]
    assert sum(retry_delays(300)) == pytest.approx(300)


# -- a throwaway server: items 12 and 11 ---------------------------------------------------------

@pytest.fixture(scope="module")
def throwaway(settings, tmp_path_factory):
    """A fresh local Neo4j in a temporary MMKG_HOME whose tree an older mmkg left readable
    (0755/0644), on free ports (the test server's neighbours may be another suite's); stopped
    (if still alive) and removed after."""
    home = tmp_path_factory.mktemp("mmkg-home")
    legacy = home / "neo4j" / "logs"
    legacy.mkdir(parents=True)
    (legacy / "old.log").write_text("from an older mmkg\n")
    for path, mode in [(home, 0o755), (home / "neo4j", 0o755), (legacy, 0o755),
                       (legacy / "old.log", 0o644)]:
        os.chmod(path, mode)
    cfg = settings.neo4j.model_copy(update={
        "uri": None, "password": None, "bolt_port": unused_port(), "http_port": unused_port(),
        "heap": "512m", "pagecache": "128m"})
    own = settings.model_copy(update={"home": home, "neo4j": cfg})
    server = LocalServer(own)
    server.start(timeout=240)
    yield own, server
    server.stop()
    shutil.rmtree(home, ignore_errors=True)


def group_or_other_bits(root: Path) -> list[str]:
    """Every path under ``root`` (and ``root``) that anyone but its owner may read or enter."""
    loose = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            loose.append(f"{path.relative_to(root.parent)}: {stat.filemode(mode)}")
    return loose


def test_store_is_owner_only(throwaway):
    """Audit item 12: data, logs and conf were 0755/0644, and the system database's transaction
    log holds the password hash. Now: MMKG_HOME 0700, everything under neo4j/ owner-only (what
    an older version left, what start writes, what the JVM creates), the password file 0600."""
    settings, server = throwaway
    home = settings.home
    with connect(settings) as driver:  # make the JVM write more: a transaction and its log
        driver.execute_query("CREATE (:Track {id: 'perm-check'})", database_="neo4j")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(settings.password_file.stat().st_mode) == 0o600
    system_logs = list((home / "neo4j" / "data" / "transactions" / "system").glob("*transaction*"))
    assert system_logs and (home / "neo4j" / "conf" / "neo4j.conf").exists()
    assert (home / "neo4j" / "logs" / "old.log").exists()
    assert group_or_other_bits(home / "neo4j") == []


def assert_retry_lines(lines: list[str], n: int) -> None:
    """``lines`` are ``Neo4j unreachable, retrying in Ns (k/n)`` for k = 1..n; the waits are the
    planned 1 s, 2 s, ... each cut to the time the budget has left (attempts take time too)."""
    assert len(lines) == n, lines
    for k, line in enumerate(lines, start=1):
        m = re.fullmatch(rf"Neo4j unreachable, retrying in ([0-9.]+)s \({k}/{n}\)", line)
        assert m and 0 < float(m.group(1)) <= 2 ** (k - 1), line


def test_ingest_when_the_jvm_is_killed_ends_in_one_line(throwaway, tmp_path):
    """Audit item 11, as reported: the JVM is SIGKILLed while ``mmkg ingest`` writes (one row
    per transaction). It used to retry for about 4.5 minutes, silently. Now each retry is one
    line and the waits add up to neo4j.retry_seconds (3 s here: 1 s, then 2 s); the error is one
    line. If the kill lands inside a COMMIT the outcome of that commit is unknown: that is said
    instead, at once (audit item 10). Leaves the throwaway server dead."""
    settings, server = throwaway
    env = {**os.environ, "MMKG_HOME": str(settings.home),
           "MMKG_NEO4J_BOLT_PORT": str(settings.neo4j.bolt_port),
           "MMKG_NEO4J_HTTP_PORT": str(settings.neo4j.http_port),
           "MMKG_NEO4J_PASSWORD": settings.password(), "MMKG_NEO4J_RETRY_SECONDS": "3"}
    env.pop("MMKG_NEO4J_URI", None)
    catalog = tmp_path / "catalog"
    subprocess.run([sys.executable, "-m", "mmkg", "sample-catalog", str(catalog), "--tracks", "300",
                    "--users", "100", "--no-media"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    ingest = subprocess.Popen([sys.executable, "-m", "mmkg", "ingest", str(catalog),
                               "--no-features", "--rows-per-tx", "1"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with connect(settings) as driver:
        while count(driver, "neo4j", "MATCH (n) RETURN count(n) AS n") < 50:
            assert ingest.poll() is None, ingest.communicate()
            time.sleep(0.2)
    os.kill(server.pid(), signal.SIGKILL)
    _, stderr = ingest.communicate(timeout=300)
    lines = [line for line in stderr.splitlines() if "Neo4j" in line]
    assert ingest.returncode == 1 and "Traceback" not in stderr, stderr
    retries = [line.split("mmkg.graph.batch: ", 1)[-1] for line in lines if "retrying" in line]
    if "went away while committing" in lines[-1]:
        assert retries == [], stderr
    else:
        assert_retry_lines(retries, 2)
        assert lines[-1].startswith("Error: Neo4j stayed unreachable through 3 s of retries "
                                    "(setting neo4j.retry_seconds)"), stderr


def test_writes_to_a_dead_server_retry_within_the_budget(throwaway, caplog):
    """Audit item 11, deterministic: every batch write meets a killed JVM (the previous test's);
    run_batches announces each retry and gives up when the waits reach the budget."""
    settings, server = throwaway
    assert server.pid() is None, "runs after the test that kills the throwaway server"
    slow = settings.model_copy(update={"neo4j": settings.neo4j.model_copy(
        update={"retry_seconds": 2.5})})
    driver = connect(slow, verify=False)
    try:
        with pytest.raises(DatabaseError) as info:
            run_batches(driver, "neo4j", "UNWIND $rows AS row CREATE (:Track {id: row.id})",
                        [{"id": "t1"}, {"id": "t2"}], batch_size=1)
    finally:
        driver.close()
    assert_retry_lines([r.getMessage() for r in caplog.records if r.name == "mmkg.graph.batch"], 2)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("Neo4j stayed unreachable through 2.5 s of retries")
    assert f"127.0.0.1:{settings.neo4j.bolt_port}" in message


def modes(folder: Path) -> set[tuple[str, str]]:
    """``(kind, octal mode)`` of ``folder`` and of everything under it."""
    found = {("dir", oct(folder.stat().st_mode & 0o777))}
    for path in folder.rglob("*"):
        found.add(("dir" if path.is_dir() else "file", oct(path.stat().st_mode & 0o777)))
    return found


def test_export_and_run_folders_and_bulk_csv_files_are_owner_only(export_graph_db, tmp_path):
    """Issue 21, finding 14: export folders, run folders and the importer's CSV files were
    created 0644 (user ids, listens and embeddings readable by every account), while the store
    is 0700/0600."""
    from click.testing import CliRunner

    from mmkg.cli import cli
    from mmkg.ingest.bulk import write_import_files
    from mmkg.ingest.graphdata import GraphData, NodeSet, property_frame
    from mmkg.schema import Label

    owner_only = {("dir", "0o700"), ("file", "0o600")}
    previous = os.umask(0o022)  # a usual umask: what mmkg creates must not depend on it
    try:
        export = CliRunner().invoke(cli, ["export", str(tmp_path / "export"), "--split-seed", "0"])
        assert export.exit_code == 0, export.output
        train = CliRunner().invoke(cli, ["train", "--export", str(tmp_path / "export"), "--out",
                                         str(tmp_path / "run"), "--model", "pop", "--set", "epochs=1",
                                         "--quiet"])
        assert train.exit_code == 0, train.output
        (tmp_path / "bulk").mkdir(mode=0o700)
        write_import_files(GraphData(nodes=[NodeSet(Label.USER, property_frame(
            {"id": ["u1", "u2"], "name": ["Ann", "Bo"]}))]), tmp_path / "bulk")
    finally:
        os.umask(previous)
    assert modes(tmp_path / "export") == owner_only
    assert modes(tmp_path / "run") == owner_only
    assert modes(tmp_path / "bulk") == owner_only
