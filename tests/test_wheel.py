"""The built wheel, installed alone in a fresh venv, runs the pipeline from an empty folder.

``pip wheel`` builds it from a copy of the sources; it is installed with ``--no-deps`` into a new
venv whose dependencies come from this interpreter's site-packages (a ``.pth`` file: nothing is
downloaded). From an empty temporary folder, on ports of its own: ``db start``, a tiny sample
catalog without media, ``ingest``, ``train`` (one epoch), ``publish``, ``recommend``, ``db stop``.
It proves what only a wheel install shows: the package data (queries, server files, model
defaults) is shipped, the home is the current folder's ``.mmkg`` and not site-packages, and the
docker server, whose compose file the wheel lacks, is one line.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.test_cli_errors import assert_one_line_error
from tests.test_packaging import copy_sources

pytestmark = pytest.mark.wheel


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    """A fresh venv holding only the mmkg wheel, its dependencies seen through a ``.pth``."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    copy_sources(source)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir", "-w", str(tmp / "dist"),
                    str(source)], check=True, cwd=tmp)
    [wheel] = (tmp / "dist").glob("mmkg-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        capture_output=True, text=True, check=True).stdout.strip())
    deps = [p for p in sys.path if p.endswith("site-packages")] or [sysconfig.get_path("purelib")]
    (site_packages / "deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], check=True)
    return venv


def test_the_wheel_runs_the_pipeline_from_an_empty_folder(wheel_venv, tmp_path):
    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMKG_") and k != "PYTHONPATH"}
    env.update(MMKG_NEO4J_BOLT_PORT=str(_free_port()), MMKG_NEO4J_HTTP_PORT=str(_free_port()),
               MMKG_NEO4J_HEAP="512m", MMKG_NEO4J_PAGECACHE="64m", MMKG_NEO4J_SERVER="java")

    def mmkg(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(wheel_venv / "bin" / "mmkg"), *args], cwd=work, env={**env, **extra},
                              capture_output=True, text=True, timeout=300)

    def ok(*args: str) -> str:
        done = mmkg(*args)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        return done.stdout

    where = subprocess.run([str(wheel_venv / "bin" / "python"), "-c", "import mmkg; print(mmkg.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    assert Path(where).is_relative_to(wheel_venv), where             # the wheel's, not the checkout's
    assert_one_line_error(mmkg("db", "start", MMKG_NEO4J_SERVER="docker"), 1,
                          "docker-compose.yml of a source checkout", "MMKG_NEO4J_SERVER=java")
    ok("db", "start")
    try:
        ok("sample-catalog", "cat", "--tracks", "30", "--users", "12", "--no-media", "--seed", "1")
        ok("ingest", "cat", "--no-features")
        trained = ok("train", "--out", "run", "--set", "epochs=1", "--set", "model.dim=8", "--quiet")
        assert "mkgcn: best epoch 1" in trained
        assert "recommendations" in ok("publish", "run", "--keep", "0")
        listed = ok("recommend", "u0", "--k", "3", "--json")
        assert listed.count('"trackId"') == 3
    finally:
        ok("db", "stop")
    assert (work / ".mmkg" / "neo4j").is_dir()                      # the home: ./.mmkg
    assert not list(wheel_venv.rglob(".mmkg"))
