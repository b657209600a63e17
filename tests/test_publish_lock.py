"""Audit item 1: two publishes at once used to both exit 0 and leave every Track and User
embedding null (each cleared and flipped the other's staged vectors). Publishes now take the
publish lock (publish/lock.py): the second is refused with one line, the first completes,
and a lock left by a dead publish is recoverable."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mmkg.errors import PublishError
from mmkg.graph import load_query, write_rows
from mmkg.publish.writer import publish, read_run
from mmkg.publish.lock import LockHolder, _acquire
from tests.conftest import ROOT, count
from tests.demo_graph import N_TRACKS, N_USERS, build_demo_graph, write_run
from tests.test_cli_errors import assert_one_line_error


@pytest.fixture()
def demo(empty_db, database):
    build_demo_graph(empty_db, database)
    return empty_db


def mmkg_publish(run: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mmkg", "publish", str(run), *args], cwd=ROOT,
                            env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finished(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=180)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def missing_embeddings(driver, database: str) -> int:
    """Tracks and users of the runs (all but the demo's u-new and u-late) without an embedding."""
    return N_TRACKS + N_USERS - count(
        driver, database, "MATCH (m:Model {current: true}) MATCH (n:Track|User) "
        "WHERE n[m.vector_property] IS NOT NULL RETURN count(n) AS n")


def current_models(driver, database: str) -> list[str]:
    records, _, _ = driver.execute_query("MATCH (m:Model {current: true}) RETURN m.id AS id",
                                         database_=database)
    return [r["id"] for r in records]


def locks(driver, database: str) -> int:
    return count(driver, database, "MATCH (l:PublishLock) RETURN count(l) AS n")


def plant_lock(driver, database: str, *, host: str, pid: int, run: str = "out/crashed") -> None:
    """The lock a publish leaves when it dies before releasing it."""
    write_rows(driver, database, load_query("publish_lock_acquire"), owner="crashed-token",
               host=host, pid=pid, run=run)


def test_the_audit_command_two_publishes_at_once_lose_nothing(demo, database, tmp_path):
    """`mmkg publish out/runA --model-id c1 & mmkg publish out/runB --model-id c2 & wait`."""
    run_a, run_b = write_run(tmp_path / "runA", seed=1), write_run(tmp_path / "runB", seed=2)
    procs = {"c1": mmkg_publish(run_a, "--model-id", "c1", "--rows-per-tx", "1"),
             "c2": mmkg_publish(run_b, "--model-id", "c2", "--rows-per-tx", "1")}
    done = {model: finished(proc) for model, proc in procs.items()}
    published = [model for model, d in done.items() if d.returncode == 0]
    for model, d in done.items():
        if d.returncode != 0:  # the one that found the other running
            assert_one_line_error(d, 1, "another publish is running", "--force-unlock")
    assert published, {m: d.stderr for m, d in done.items()}
    assert current_models(demo, database)[0] in published
    assert missing_embeddings(demo, database) == 0
    assert locks(demo, database) == 0


def test_a_publish_meanwhile_is_refused_and_the_running_one_completes(demo, database, tmp_path):
    run_a, run_b = write_run(tmp_path / "runA", seed=1), write_run(tmp_path / "runB", seed=2)
    second: list[subprocess.CompletedProcess] = []

    def start_another(step: str, rows: int) -> None:
        if not second:  # while the first holds the lock, after its first committed batch
            second.append(finished(mmkg_publish(run_b, "--model-id", "c2")))

    a = publish(demo, database, run_a, model_id="c1", batch_size=1, progress=False,
                on_step=start_another)
    assert_one_line_error(second[0], 1, "another publish is running", f"publish of {run_a}",
                          f"pid {os.getpid()}")
    assert current_models(demo, database) == [a.model_id] == ["c1"]
    assert (a.tracks, a.users) == (N_TRACKS, N_USERS)
    assert missing_embeddings(demo, database) == 0
    assert count(demo, database, "MATCH (m:Model {id: 'c2'}) RETURN count(m) AS n") == 0
    assert locks(demo, database) == 0


def test_concurrent_acquires_leave_exactly_one_owner(empty_db, database):
    """The MERGE under the uniqueness constraint: eight at once, one wins, all see the winner."""
    start = threading.Barrier(8)
    seen: list[str] = []

    def take(i: int) -> None:
        me = LockHolder(owner=f"owner-{i}", host="h", pid=i, run=f"run-{i}")
        start.wait()
        seen.append(_acquire(empty_db, database, me).owner)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and len(set(seen)) == 1
    assert locks(empty_db, database) == 1


def test_lock_is_released_when_a_publish_fails(demo, database, tmp_path):
    def fail(step: str, rows: int) -> None:
        raise RuntimeError("injected failure")

    with pytest.raises(RuntimeError, match="injected"):
        publish(demo, database, write_run(tmp_path / "run"), progress=False, on_step=fail)
    assert locks(demo, database) == 0


def test_lock_of_a_dead_publish_on_this_host_is_taken_over(demo, database, tmp_path, caplog):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    plant_lock(demo, database, host=socket.gethostname(), pid=int(gone.stdout))
    summary = publish(demo, database, write_run(tmp_path / "run"), progress=False)
    assert current_models(demo, database) == [summary.model_id]
    assert "taking over the publish lock of a publish of out/crashed" in caplog.text
    assert locks(demo, database) == 0


def test_lock_from_another_host_needs_force_unlock(demo, database, tmp_path):
    run = write_run(tmp_path / "run")
    plant_lock(demo, database, host="elsewhere", pid=1)
    refused = finished(mmkg_publish(run))
    assert_one_line_error(refused, 1, "another publish is running",
                          "publish of out/crashed by pid 1 on elsewhere", "--force-unlock")
    with pytest.raises(PublishError, match="another publish is running"):
        publish(demo, database, run, progress=False)
    assert current_models(demo, database) == []

    forced = finished(mmkg_publish(run, "--force-unlock"))
    assert forced.returncode == 0, forced.stderr
    assert "removed the publish lock of the publish of out/crashed" in forced.stderr
    assert current_models(demo, database) == [read_run(run).model_id]
    assert missing_embeddings(demo, database) == 0
    assert locks(demo, database) == 0


def test_force_unlock_refuses_a_live_publish_on_this_host(demo, database, tmp_path):
    """Breaking the lock of a publish still running here let two publishes write one slot."""
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) as live:
        try:
            plant_lock(demo, database, host=socket.gethostname(), pid=live.pid)
            refused = finished(mmkg_publish(write_run(tmp_path / "run"), "--force-unlock"))
            assert_one_line_error(refused, 1, "--force-unlock refused", f"pid {live.pid} on "
                                  f"{socket.gethostname()}", "still running on this host")
            assert current_models(demo, database) == []
            assert count(demo, database, "MATCH (l:PublishLock {owner: 'crashed-token'}) "
                                         "RETURN count(l) AS n") == 1
        finally:
            live.kill()
            write_rows(demo, database, load_query("publish_lock_break"), owner="crashed-token")
