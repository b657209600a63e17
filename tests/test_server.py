"""The local Neo4j server: lifecycle, Browser, auth — against real server processes."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.config import NEO4J_VERSION, Neo4jSettings, default_home, load_settings
from mmkg.errors import DatabaseError, ServerError
from mmkg.graph import connect
from mmkg.server.local import MAIN_CLASS, LocalServer
from tests.conftest import CHOSEN_SERVER, ROOT, TEST_SERVER, use_test_server_unless_configured


def _server_processes(home: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", MAIN_CLASS], capture_output=True, text=True).stdout
    pids = []
    for pid in out.split():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(home.resolve()) in cmdline:
            pids.append(int(pid))
    return pids


def test_browser_is_served(settings, server):
    with urllib.request.urlopen(settings.neo4j.browser_url, timeout=10) as resp:
        html = resp.read().decode()
    assert "<html" in html.lower() and "Neo4j Browser" in html


@pytest.mark.usefixtures("uri_scheme")
def test_db_status_reports_the_server_version(server):
    result = CliRunner().invoke(cli, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert f"version:  {NEO4J_VERSION}" in result.output
    assert "running:  yes" in result.output


def test_wrong_password_is_a_one_line_error(settings, server):
    env = {**os.environ, "MMKG_NEO4J_PASSWORD": "definitely-not-it"}
    result = subprocess.run([sys.executable, "-m", "mmkg", "db", "init"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "rejected user 'neo4j' with the configured password" in lines[0]
    assert "definitely-not-it" not in result.stderr + result.stdout


def test_gds_plugin_jars_share_no_class_with_the_neo4j_jars(settings, server):
    """plugins/ comes first on the classpath: a library in both folders would shadow Neo4j's own."""
    local = LocalServer(settings)
    if not (local.plugins / ".complete").exists():
        pytest.skip("the server does not run from the jar cache")

    def classes(folder: Path) -> set[str]:
        names: set[str] = set()
        for jar in folder.rglob("*.jar"):
            with zipfile.ZipFile(jar) as archive:
                names.update(n for n in archive.namelist() if n.endswith(".class")
                             and not n.endswith("module-info.class") and not n.startswith("META-INF/"))
        return names

    assert any(local.plugins.glob("proc-*.jar")) and any((local.plugins / "lib").glob("algo-*.jar"))
    assert classes(local.plugins) & classes(local.lib) == set()


def test_connecting_to_nothing_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MMKG_NEO4J_BOLT_PORT", "7399")
    monkeypatch.setenv("MMKG_NEO4J_PASSWORD", "x")
    settings = load_settings()
    with pytest.raises(DatabaseError, match="mmkg db start"):
        connect(settings)


def test_the_compose_file_reads_every_setting_the_docker_server_passes(monkeypatch):
    """`mmkg db start` on Docker runs docker-compose.yml with the password, ports, memory and
    version of the settings: the file reads each of those variables, and no other."""
    import re

    from mmkg.server.docker import COMPOSE_FILE, compose_variables

    monkeypatch.setenv("MMKG_NEO4J_PASSWORD", "x")
    monkeypatch.setenv("MMKG_NEO4J_HEAP", "6g")
    monkeypatch.setenv("MMKG_NEO4J_PAGECACHE", "3g")
    passed = compose_variables(load_settings())
    read = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    assert read == set(passed)
    assert passed["MMKG_NEO4J_HEAP"] == "6g" and passed["MMKG_NEO4J_PAGECACHE"] == "3g"


@pytest.fixture()
def private_server(tmp_path, monkeypatch):
    """A second, throw-away server on other ports (so stopping it can't disturb the suite)."""
    env = {"MMKG_HOME": str(tmp_path / "home"), "MMKG_NEO4J_BOLT_PORT": "7697",
           "MMKG_NEO4J_HTTP_PORT": "7494", "MMKG_NEO4J_HEAP": "512m",
           "MMKG_NEO4J_PAGECACHE": "128m", "MMKG_NEO4J_SERVER": "java"}
    for key in [k for k in os.environ if k.startswith("MMKG_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    server = LocalServer(load_settings())
    yield server
    server.stop()


def test_lifecycle_start_is_idempotent_and_stop_leaves_no_process(private_server):
    home = private_server.home
    with pytest.raises(ServerError, match="not running"):
        private_server.wait(timeout=2)
    private_server.tmp_dir.mkdir(parents=True)
    (private_server.tmp_dir / "left-by-a-killed-jvm").write_text("x")
    assert private_server.start(timeout=180) is True
    # the JVM's temporary files (the Browser's unpacked copy, Jetty's work folder) stay in its
    # home, not in the system's /tmp, and what an earlier JVM left there is gone
    assert sorted(p.name.split("-")[0] for p in private_server.tmp_dir.iterdir()) == ["decompressed", "jetty"]
    first = _server_processes(home)
    assert len(first) == 1
    assert private_server.start(timeout=30) is False
    assert _server_processes(home) == first
    st = private_server.status()
    assert st.running and st.version == NEO4J_VERSION and st.log_file.exists()
    with connect(private_server.settings) as driver:  # the generated password was set on first start
        records, _, _ = driver.execute_query("RETURN 1 AS one")
        assert records[0]["one"] == 1
    assert private_server.stop() is True
    assert _server_processes(home) == []
    assert private_server.status().running is False
    assert private_server.stop() is False


def test_a_bare_pytest_uses_the_test_server_never_the_demos(tmp_path):
    """Without settings that name a server, the suite runs on ``make test``'s server (the
    Makefile's ``TEST_ENV``), not on the demo's, whose database it would empty."""
    environ: dict[str, str] = {}
    use_test_server_unless_configured(environ, tmp_path)
    assert environ == TEST_SERVER
    make = (ROOT / "Makefile").read_text()
    assert f"TEST_BOLT_PORT ?= {TEST_SERVER['MMKG_NEO4J_BOLT_PORT']}" in make
    assert f"TEST_HTTP_PORT ?= {TEST_SERVER['MMKG_NEO4J_HTTP_PORT']}" in make
    assert "MMKG_HOME=$(CURDIR)/.mmkg/test" in make and TEST_SERVER["MMKG_HOME"] == str(ROOT / ".mmkg" / "test")
    demo_port = Neo4jSettings.model_fields["bolt_port"].default                # 7687
    assert int(TEST_SERVER["MMKG_NEO4J_BOLT_PORT"]) != demo_port and Path(TEST_SERVER["MMKG_HOME"]) != default_home()
    for key in CHOSEN_SERVER:                                              # a chosen server is kept
        chosen = {key: "x"}
        use_test_server_unless_configured(chosen, tmp_path)
        assert chosen == {key: "x"}
    (tmp_path / "mmkg.toml").write_text("[neo4j]\nbolt_port = 7999\n")
    configured: dict[str, str] = {}
    use_test_server_unless_configured(configured, tmp_path)
    assert configured == {}
