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


def _own_env(tmp_path: Path, bolt: int = 7799, http: int = 7599, **more: str) -> dict[str, str]:
    """The environment of an ``mmkg`` subprocess on a throw-away home and ports: no other
    ``MMKG_*`` setting leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMKG_")}
    return {**env, "MMKG_HOME": str(tmp_path / "home"), "MMKG_NEO4J_BOLT_PORT": str(bolt),
            "MMKG_NEO4J_HTTP_PORT": str(http), "MMKG_NEO4J_HEAP": "512m",
            "MMKG_NEO4J_PAGECACHE": "128m", "MMKG_NEO4J_SERVER": "java", **more}


def _mmkg(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mmkg", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def _one_line_error(done: subprocess.CompletedProcess, *fragments: str) -> str:
    """The one stderr line of a failed command holding every fragment."""
    lines = done.stderr.splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_starts_at_once_share_one_server_that_status_and_stop_see(tmp_path):
    """Two `db start` at once used to launch two JVMs: both printed the pid of the one that died
    on the store lock, and the server that answered was invisible to status and stop. Now the
    second waits for the first and reports its server; a wrong password costs one login per
    start (Neo4j locks the account after three), and a start it fails stops the server it
    launched; status names the port the server listens on when the configured one changed."""
    env = _own_env(tmp_path)
    starts = [subprocess.Popen([sys.executable, "-m", "mmkg", "db", "start"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [proc.communicate(timeout=300) for proc in starts]
    home = tmp_path / "home" / "neo4j"
    try:
        assert [proc.returncode for proc in starts] == [0, 0], outputs
        pids = _server_processes(home)
        assert len(pids) == 1
        assert sorted(out.split("\n")[0].split(" (pid")[0] for out, _ in outputs) == [
            "Neo4j already running", "Neo4j started"]
        assert all(f"(pid {pids[0]})" in out for out, _ in outputs)

        log = home / "logs" / "neo4j.log"
        failures = log.read_text().count("authentication failure")
        wrong = _mmkg("db", "start", env={**env, "MMKG_NEO4J_PASSWORD": "not-the-password"})
        _one_line_error(wrong, f"{home / 'data'} has another password", "deletes every database")
        assert log.read_text().count("authentication failure") == failures + 1

        moved = _mmkg("db", "status", env={**env, "MMKG_NEO4J_BOLT_PORT": "7798"})
        assert moved.returncode == 0, moved.stderr
        assert f"running:  yes (pid {pids[0]}), on Bolt port 7799, not the configured one" in moved.stdout
    finally:
        stopped = _mmkg("db", "stop", env=env)
    assert stopped.stdout == "Neo4j stopped\n" and _server_processes(home) == []
    refused = _mmkg("db", "start", env={**env, "MMKG_NEO4J_PASSWORD": "not-the-password"})
    _one_line_error(refused, f"{home / 'data'} has another password")
    assert _server_processes(home) == []  # the server this start launched was stopped again


def test_a_server_exiting_while_it_starts_is_one_line_naming_why(tmp_path):
    """A port bound (not listening: the check before the start sees it free) makes the JVM fail
    after Bolt opened: start used to report "Neo4j started", or a database timeout that never
    named the port, and quoted old log lines. Now: one line with the log's reason, and no
    process left behind."""
    import socket

    logs = tmp_path / "home" / "neo4j" / "logs"
    logs.mkdir(parents=True)
    (logs / "neo4j.log").write_text("2026-01-01 00:00:00.000+0000 ERROR an earlier run's failure\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # a port of its own, bound but not listening
        port = taken.getsockname()[1]
        done = _mmkg("db", "start", env=_own_env(tmp_path, http=port))
    line = _one_line_error(done, "Neo4j exited while starting", f"127.0.0.1:{port} is already in use")
    assert "earlier run" not in line
    assert _server_processes(tmp_path / "home" / "neo4j") == []


def test_settings_no_server_starts_with_are_one_line_before_anything_runs(tmp_path):
    equal = _mmkg("db", "start", env=_own_env(tmp_path, bolt=7799, http=7799))
    _one_line_error(equal, "ports are both 7799")
    short = _mmkg("db", "start", env=_own_env(tmp_path, MMKG_NEO4J_PASSWORD="abc"))
    _one_line_error(short, "at least 8 characters")
    assert not (tmp_path / "home" / "neo4j" / "run" / "neo4j.pid").exists()


def test_a_timeout_that_is_not_a_positive_finite_number_is_a_usage_error(tmp_path):
    """`db start --timeout nan` used to start and then fail "within nans"."""
    for timeout in ("-1", "0", "nan", "inf"):
        done = _mmkg("db", "start", "--timeout", timeout, env=_own_env(tmp_path))
        assert done.returncode == 2 and "expected a finite number of seconds above 0" in done.stderr
    assert not (tmp_path / "home" / "neo4j" / "run" / "neo4j.pid").exists()


@pytest.mark.parametrize("command", ["start", "stop", "status", "wait"])
def test_db_commands_refuse_a_uri_that_is_not_the_local_server(tmp_path, command):
    """`--uri bolt://db.example.com:7687 db stop` used to stop the local server."""
    done = _mmkg("--uri", "bolt://db.example.com:7687", "db", command, env=_own_env(tmp_path))
    _one_line_error(done, f"`mmkg db {command}` acts on the local server (127.0.0.1:7799)",
                    "bolt://db.example.com:7687 is another server")


def test_a_damaged_jar_cache_is_one_line_naming_the_jar(tmp_path):
    """A truncated jar in the cache used to end in "Neo4j is not running (it exited?)" and forty
    lines of logs, old runs' included."""
    real = LocalServer(load_settings())
    real.install()  # the cache to copy (fetched once, as `mmkg db start` does)
    cache = tmp_path / "cache" / f"neo4j-{NEO4J_VERSION}"
    lib = cache / "lib"
    lib.mkdir(parents=True)
    (cache / "plugins").symlink_to(real.plugins)
    for item in real.lib.iterdir():
        (lib / item.name).symlink_to(item)
    kernel = lib / f"neo4j-kernel-{NEO4J_VERSION}.jar"
    kernel.unlink()
    kernel.write_bytes(((real.lib / kernel.name).read_bytes())[:4096])
    done = _mmkg("db", "start", env=_own_env(tmp_path, MMKG_CACHE=str(tmp_path / "cache")))
    _one_line_error(done, f"{kernel} is not a readable jar", f"remove {lib}")
    assert _server_processes(tmp_path / "home" / "neo4j") == []


def test_the_docker_server_without_the_compose_plugin_is_one_line(tmp_path):
    """A docker client without `docker compose` used to print docker's "unknown shorthand flag",
    and `db status` said "running: no"."""
    bin_dir = tmp_path / "bin"     # a docker client without the plugin, whatever this machine has
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(
        "#!/bin/sh\n"
        "[ \"$1\" = compose ] && { echo \"unknown shorthand flag: 'f' in -f\" >&2; exit 125; }\n"
        "exit 0\n")
    (bin_dir / "docker").chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    for command in ("start", "status", "stop"):
        done = _mmkg("db", command, env=_own_env(tmp_path, MMKG_NEO4J_SERVER="docker",
                                                 MMKG_NEO4J_PASSWORD="long-enough", PATH=path))
        _one_line_error(done, "needs a docker client with the Compose plugin (`docker compose`)")


def test_the_compose_file_carries_the_settings_of_the_local_conf(tmp_path, monkeypatch):
    """docker-compose.yml lacked the transaction-log retention docs/security.md relies on, the
    advertised address and the transaction memory limit of the conf `db start` writes. Every
    line of that conf is in the compose file (as the image's NEO4J_ variable), or is one the
    image sets itself (paths, listen addresses inside the container) or cannot serve (the
    Browser guide, which the stock image lacks)."""
    import re

    from mmkg.server.docker import COMPOSE_FILE, compose_variables

    for key in [k for k in os.environ if k.startswith("MMKG_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MMKG_HOME", str(tmp_path))
    settings = load_settings()
    server = LocalServer(settings)
    server.install()  # the conf names the Browser bundle of the jar cache
    conf = server.write_conf().read_text().splitlines()
    variables = compose_variables(settings)
    text = COMPOSE_FILE.read_text()

    def expand(value: str) -> str:
        return re.sub(r"\$\{(\w+)[^}]*\}", lambda m: variables[m.group(1)], value.strip("'\""))

    compose = {name: expand(value) for name, value in
               re.findall(r"^ +(NEO4J_\w+|image): *(.+?) *$", text, flags=re.MULTILINE)}
    image_sets = ("server.default_listen_address", "server.bolt.listen_address",
                  "server.http.listen_address", "server.directories.")
    no_guide = ("browser.",)
    for line in conf:
        if not line or line.startswith("#") or line.startswith(image_sets + no_guide):
            continue
        name, value = line.split("=", 1)
        env_name = "NEO4J_" + name.replace("_", "__").replace(".", "_")
        assert compose.get(env_name) == value, (line, env_name)
    assert compose["NEO4J_server_memory_heap_max__size"] == settings.neo4j.heap
    assert compose["image"] == f"neo4j:{NEO4J_VERSION}-community"
    assert not any(name.startswith("MMKG_NEO4J_") and name.removeprefix("MMKG_NEO4J_").lower()
                   not in Neo4jSettings.model_fields for name in variables)
