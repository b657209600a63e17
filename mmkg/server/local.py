"""Run Neo4j Community from Maven Central jars, without Docker.

Layout (``home`` = ``settings.home / "neo4j"``)::

    ~/.cache/mmkg/neo4j-<version>/lib/*.jar     jars, fetched once by Maven (pom.xml beside this file)
    ~/.cache/mmkg/neo4j-<version>/plugins/*.jar Graph Data Science jars that declare procedures
    ~/.cache/mmkg/neo4j-<version>/plugins/lib/  the rest of GDS and its libraries (both fetched
                                                once by Maven, gds.pom.xml)
    .mmkg/neo4j/conf/neo4j.conf                  written on every start from settings
    .mmkg/neo4j/data/                            the database files
    .mmkg/neo4j/logs/neo4j.log                   the server log (``mmkg db status`` points to it)
    .mmkg/neo4j/run/neo4j.pid                    pid of the running JVM
    .mmkg/neo4j/run/start.lock                   held (``flock``) by one start or stop at a time
    .mmkg/neo4j/data/initial-password-pending    a store whose built-in password is still unchanged
    .mmkg/neo4j/tmp/                             the JVM's temporary folder (``java.io.tmpdir``:
                                                 the Browser's unpacked files, Jetty's work
                                                 folder), emptied on every start

Auth is always on. On the first start the built-in ``neo4j/neo4j`` account gets the configured
password (``ALTER CURRENT USER``), so the password never appears on a command line or in a file
other than the user's own config / ``.mmkg/neo4j-password``. A start logs in once: as
``neo4j/neo4j`` while ``data/initial-password-pending`` (made before a start that creates the
store) says the password is still the built-in one, else with the configured password to check
it; so a wrong password costs one of the few failed logins Neo4j allows before it locks the
account for a while.

Starts and stops are serialised by an exclusive lock on ``run/start.lock``, held from the check
for a running server to the recorded pid answering: a second ``mmkg db start`` waits and then
finds the first one's server running. A start that fails after launching the JVM (it exits, it
does not answer in time, the password is refused) stops it again: nothing is left running.

Owner-only: the store holds the password's hash (the ``system`` database's transaction log) and
every value of the graph, so ``start`` makes ``$MMKG_HOME`` and the whole ``.mmkg/neo4j`` tree
owner-only (directories 0700, files 0600, also for a tree an older version left readable) and
runs the JVM under umask 077, so that what Neo4j creates later is owner-only too.

An offline import (``mmkg ingest --bulk``, :mod:`mmkg.ingest.bulk`) records itself in
``run/offline-import.json`` (its pid, the database, its CSV folder, its stage) while it runs. If
that process dies (``kill -9``, a crash) :meth:`LocalServer.start` finishes what it left: a store
the importer had not finished is removed (the database starts empty), the schema is applied,
the CSV folder removed, and :attr:`LocalServer.recovered` says so in one line.

The JVM runs with the classpath ``plugins/*:plugins/lib/*:conf/*:lib/*`` (plugins first, as
Neo4j's own launcher does), so that Graph Data Science (a kernel extension, not only procedures)
loads; its procedures need ``dbms.security.procedures.unrestricted=gds.*``. Neo4j loads every
class of every jar directly in the plugins folder to find procedures: keeping GDS's other jars
in ``plugins/lib`` (on the classpath, never scanned) saves ~6 s of every start.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ClientError

from mmkg.config import NEO4J_VERSION, Settings
from mmkg.errors import ServerError
from mmkg.files import OWNER_ONLY_UMASK, owner_only
from mmkg.graph.queries import load_query
from mmkg.graph.schema import apply_schema
from mmkg.server.browser import browser_conf_lines

POM = Path(__file__).with_name("pom.xml")
GDS_POM = Path(__file__).with_name("gds.pom.xml")
GDS_VERSION = "2.13.9"
"""Open-source Graph Data Science (``org.neo4j.gds:proc``), the release line for Neo4j 5.26."""
PLUGIN_LIBRARIES = "lib"
"""Subfolder of the plugins folder for plugin jars that declare no procedure (not scanned)."""
PROCEDURE_ANNOTATIONS = tuple(f"Lorg/neo4j/procedure/{a};".encode()
                              for a in ("Procedure", "UserFunction", "UserAggregationFunction"))
"""Class-file descriptors of the annotations Neo4j's procedure loader looks for."""
MAIN_CLASS = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
"""The ``neo4j-admin`` entry point (``neo4j-command-line``, a dependency of ``org.neo4j:neo4j``)."""
OFFLINE_IMPORT = "offline-import.json"
"""The file (in ``run/``) an ``mmkg ingest --bulk`` holds while it runs."""
IMPORT_STAGES = ("csv", "import", "imported")
"""An offline import's stages: writing CSV files (the server runs), importing (the server is
stopped, the store being replaced), imported (the store is complete, the schema not yet
applied)."""
DEFAULT_PASSWORD = "neo4j"  # the built-in initial password Neo4j forces you to change
MIN_PASSWORD_LENGTH = 8
"""Neo4j's ``dbms.security.auth_minimum_password_length`` (its default): shorter passwords are
refused when they are set."""
PASSWORD_PENDING = "initial-password-pending"
"""The file (in ``data/``) that says the store still has the built-in password."""
JVM_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
)


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    version: str | None
    bolt_uri: str
    browser_url: str
    log_file: Path
    listening_port: int | None = None
    """The Bolt port the running server listens on (from the ``neo4j.conf`` it was started
    with), when that is not the configured one; else None."""


class LocalServer:
    """The project-local Neo4j server described by ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = (settings.home / "neo4j").resolve()
        self.lib = (settings.cache / f"neo4j-{NEO4J_VERSION}" / "lib").resolve()
        self.plugins = (settings.cache / f"neo4j-{NEO4J_VERSION}" / "plugins").resolve()
        self.conf_dir = self.home / "conf"
        self.log_file = self.home / "logs" / "neo4j.log"
        self.console_log = self.home / "logs" / "console.log"
        self.pid_file = self.home / "run" / "neo4j.pid"
        self.lock_file = self.home / "run" / "start.lock"
        self.password_pending = self.home / "data" / PASSWORD_PENDING
        self.import_file = self.home / "run" / OFFLINE_IMPORT
        self.tmp_dir = self.home / "tmp"
        self.recovered: str | None = None
        """What the last :meth:`start` did about an interrupted offline import (one line), or None."""

    # -- installation -----------------------------------------------------------------------
    def install(self) -> tuple[Path, Path]:
        """Fetch the Neo4j jars and the GDS plugin jars into the cache once (idempotent), check
        that every cached jar opens; return the lib and plugins folders.

        Raises:
            ServerError: a fetch failed, or a cached jar is damaged (one line naming it).
        """
        lib = _fetch(POM, self.lib, "neo4j.version", NEO4J_VERSION, "Neo4j")
        plugins = _fetch(GDS_POM, self.plugins, "gds.version", GDS_VERSION, "GDS",
                         arrange=_set_aside_library_jars)
        for folder in (lib, plugins):
            check_jars(folder)
        return lib, plugins

    def write_conf(self) -> Path:
        cfg = self.settings.neo4j
        for sub in ("conf", "data", "logs", "run", "import"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        conf = self.conf_dir / "neo4j.conf"
        conf.write_text("\n".join([
            "# Written by `mmkg db start` from mmkg settings; edits are overwritten.",
            "server.default_listen_address=127.0.0.1",
            f"server.bolt.listen_address=127.0.0.1:{cfg.bolt_port}",
            f"server.bolt.advertised_address=127.0.0.1:{cfg.bolt_port}",
            f"server.http.listen_address=127.0.0.1:{cfg.http_port}",
            f"server.http.advertised_address=127.0.0.1:{cfg.http_port}",
            "server.https.enabled=false",
            "dbms.security.auth_enabled=true",
            f"server.memory.pagecache.size={cfg.pagecache}",
            "dbms.memory.transaction.total.max=0",
            "db.tx_log.rotation.retention_policy=1 files",
            f"server.directories.data={self.home / 'data'}",
            f"server.directories.logs={self.home / 'logs'}",
            f"server.directories.run={self.home / 'run'}",
            f"server.directories.import={self.home / 'import'}",
            f"server.directories.plugins={self.plugins}",
            "dbms.security.procedures.unrestricted=gds.*",
            "dbms.usage_report.enabled=false",
            *browser_conf_lines(self.lib, self.home, cfg.http_port),
            "",
        ]))
        return conf

    # -- lifecycle ----------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The pid of our running server, or None (a stale pid file is removed).

        A live process whose command line is still empty (the JVM launcher between exec calls)
        counts as ours; one whose command line names another program means the pid was reused.
        """
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if _alive(pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                cmdline = ""
            if not cmdline or (MAIN_CLASS in cmdline and str(self.home) in cmdline):
                return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self, timeout: float = 120.0) -> bool:
        """Start the server unless it already runs; wait for Bolt; set the password on first start.

        Returns True when a new server process was started.

        Raises:
            ServerError: equal ports, a password Neo4j would refuse, a port taken, a damaged jar
                cache, the server already running on other ports, the JVM exiting or not
                answering within ``timeout`` (the line names the reason from this start's log),
                or a store with another password; one line each. A server this call launched
                is stopped again before it raises.
        """
        check_start_settings(self.settings)
        restrict_to_owner(self.settings.home, self.home)
        with self._lock():
            return self._start(timeout)

    def _start(self, timeout: float) -> bool:
        """:meth:`start`, with the start lock held."""
        cfg = self.settings.neo4j
        interrupted = self.interrupted_import()
        pid = self.pid()
        if pid is not None:
            port = self.listening_port()
            if port is not None and port != cfg.bolt_port:
                raise ServerError(f"Neo4j already runs (pid {pid}) on Bolt port {port}, not on the "
                                  f"configured {cfg.bolt_port}: stop it first (`mmkg db stop`)")
            self.wait(timeout)
            self._ensure_password()  # in case an earlier start died before setting it
            self.recovered = self.finish_interrupted_import(interrupted)
            return False
        for name, port in (("BOLT", cfg.bolt_port), ("HTTP", cfg.http_port)):
            if _port_open(port):
                raise ServerError(f"port {port} is taken by another process; stop it or set "
                                  f"MMKG_NEO4J_{name}_PORT to a free port")
        if interrupted is not None and interrupted["stage"] == "import":
            self.remove_database_files(interrupted["database"])  # what the importer left
        java = java_executable()
        lib, plugins = self.install()
        with owner_only():  # conf, console log, pid file, and the JVM's own files
            self.write_conf()
            if not (self.home / "data" / "databases" / "system").exists():
                self.password_pending.touch()  # this start creates the store
            heap = cfg.heap
            classpath = f"{plugins}/*:{plugins / PLUGIN_LIBRARIES}/*:{self.conf_dir}/*:{lib}/*"
            shutil.rmtree(self.tmp_dir, ignore_errors=True)  # what a killed JVM left
            self.tmp_dir.mkdir()
            cmd = [java, f"-Xms{heap}", f"-Xmx{heap}", *JVM_OPTIONS, f"-Djava.io.tmpdir={self.tmp_dir}",
                   "-cp", classpath, MAIN_CLASS, f"--home-dir={self.home}", f"--config-dir={self.conf_dir}"]
            logged = self._log_sizes()
            with open(self.console_log, "ab") as console:
                proc = subprocess.Popen(cmd, stdout=console, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        cwd=self.home, umask=OWNER_ONLY_UMASK)
            self.pid_file.write_text(f"{proc.pid}\n")
        try:
            self._await_start(proc, timeout, logged)
            self._ensure_password()
            self.recovered = self.finish_interrupted_import(interrupted)
        except BaseException:
            self._stop(proc.pid)  # nothing is left running after a failed start
            proc.wait()
            raise
        return True

    def _await_start(self, proc: subprocess.Popen, timeout: float, logged: dict[Path, int]) -> None:
        """Block until the JVM ``proc`` just launched answers on Bolt and HTTP (Bolt opens
        first: a server that then fails to bind its HTTP port answers a Bolt handshake for a
        while before it exits).

        Raises:
            ServerError: it exited, or did not answer within ``timeout``: one line with the reason
                found in what it logged since this start (``logged``: the logs' sizes before).
        """
        deadline = time.monotonic() + timeout
        port = self.settings.neo4j.bolt_port
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ServerError(f"Neo4j exited while starting: {self.start_failure(logged)} "
                                  f"(log: {self.log_file})")
            if bolt_handshake(port) and http_version(self.settings.neo4j.http_port) is not None:
                return
            time.sleep(0.5)
        raise ServerError(f"Neo4j did not answer on Bolt port {port} and HTTP port "
                          f"{self.settings.neo4j.http_port} within {timeout:g}s; its log said: "
                          f"{self.start_failure(logged)} (log: {self.log_file})")

    def wait(self, timeout: float = 120.0) -> None:
        """Block until Bolt accepts connections; raise with the log's last lines on timeout."""
        deadline = time.monotonic() + timeout
        port = self.settings.neo4j.bolt_port
        while time.monotonic() < deadline:
            if self.pid() is None and not _port_open(port):
                raise ServerError("Neo4j is not running (it exited?)\n" + self.log_tail())
            if bolt_handshake(port):
                return
            time.sleep(0.5)
        raise ServerError(f"Neo4j did not answer on Bolt port {port} within {timeout:g}s\n"
                          + self.log_tail())

    def stop(self, timeout: float = 60.0) -> bool:
        """Shut the server down cleanly (SIGTERM, then SIGKILL after ``timeout``); False when it
        was not running. Waits for a start in progress to finish first."""
        with self._lock():
            pid = self.pid()
            if pid is None:
                return False
            self._stop(pid, timeout)
            return True

    def _stop(self, pid: int, timeout: float = 60.0) -> None:
        """SIGTERM ``pid``, SIGKILL it after ``timeout``, and remove the pid file."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Hold the exclusive start lock (``run/start.lock``), waiting for another holder."""
        with owner_only():
            self.lock_file.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.lock_file, "a")
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def status(self) -> ServerStatus:
        """Whether the server runs, its version, and the port it listens on when that is not the
        configured one."""
        cfg = self.settings.neo4j
        pid = self.pid()
        port = self.listening_port() if pid else None
        http_port = self.listening_port("http") or cfg.http_port
        return ServerStatus(
            running=pid is not None, pid=pid, version=http_version(http_port) if pid else None,
            bolt_uri=cfg.bolt_uri, browser_url=cfg.browser_url, log_file=self.log_file,
            listening_port=port if port != cfg.bolt_port else None,
        )

    def listening_port(self, connector: str = "bolt") -> int | None:
        """The port of ``connector`` (``bolt`` or ``http``) in the ``neo4j.conf`` the last
        start wrote (the running server's), or None without one."""
        prefix = f"server.{connector}.listen_address="
        try:
            lines = (self.conf_dir / "neo4j.conf").read_text().splitlines()
        except OSError:
            return None
        return next((int(line.rsplit(":", 1)[1]) for line in lines if line.startswith(prefix)), None)

    def log_tail(self, lines: int = 20) -> str:
        chunks = []
        for path in (self.log_file, self.console_log):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"--- last lines of {path} ---\n" + "\n".join(text))
        return "\n".join(chunks) or f"(no log at {self.log_file})"

    def _log_sizes(self) -> dict[Path, int]:
        """The current sizes of the server log and the console log (0 when absent)."""
        return {path: path.stat().st_size if path.exists() else 0
                for path in (self.log_file, self.console_log)}

    def start_failure(self, logged: dict[Path, int]) -> str:
        """Why a start failed, from what the logs got since ``logged`` (their sizes before it):
        the first ``ERROR`` line of the server log (without time and level: the first names the
        cause, "Failed to start Neo4j on 127.0.0.1:7474: Address 127.0.0.1:7474 is already in
        use", later ones repeat it shorter), else the last line of the console log naming an
        exception or error, else the last line written (the server log's without time and
        level)."""
        new: dict[Path, list[str]] = {}
        for path, size in logged.items():
            try:
                with open(path, "rb") as handle:
                    handle.seek(size)
                    new[path] = [line.strip() for line in
                                 handle.read().decode(errors="replace").splitlines() if line.strip()]
            except OSError:
                new[path] = []
        errors = [line.split(" ERROR ", 1)[1] for line in new[self.log_file] if " ERROR " in line]
        if errors:
            return errors[0]
        thrown = [line for line in new[self.console_log] if "Exception" in line or "Error" in line]
        if thrown:
            return thrown[-1]
        written = [line.split(None, 3)[-1] for line in new[self.log_file]] + new[self.console_log]
        return written[-1] if written else "nothing was logged"

    # -- offline imports (``mmkg ingest --bulk``) -----------------------------------------------
    def begin_import(self, database: str, folder: Path) -> None:
        """Record that this process loads ``database`` from the CSV files in ``folder``
        (stage ``csv``), so that :meth:`start` can finish the job if this process dies."""
        self.import_file.parent.mkdir(parents=True, exist_ok=True)
        self._write_import({"pid": os.getpid(), "database": database, "folder": str(folder),
                            "stage": "csv"})

    def import_stage(self, stage: str) -> None:
        """Move this process's offline import on to ``stage`` (:data:`IMPORT_STAGES`)."""
        record = json.loads(self.import_file.read_text())
        self._write_import({**record, "stage": IMPORT_STAGES[IMPORT_STAGES.index(stage)]})

    def end_import(self) -> None:
        """The offline import is over (done, or undone by its own process)."""
        self.import_file.unlink(missing_ok=True)

    def interrupted_import(self) -> dict | None:
        """The record of an offline import whose process is gone (``pid``, ``database``,
        ``folder``, ``stage``), or None (none recorded, or its process still runs)."""
        try:
            record = json.loads(self.import_file.read_text())
        except (OSError, ValueError):
            return None
        return None if _alive(int(record["pid"])) else record

    def finish_interrupted_import(self, record: dict | None) -> str | None:
        """Finish what the dead offline import ``record`` left on the running server (its
        unfinished store was removed before the start): apply the schema, remove its CSV
        folder and the record. Returns one line saying so, or None without a record."""
        if record is None:
            return None
        database = record["database"]
        cfg = self.settings.neo4j
        with GraphDatabase.driver(f"bolt://127.0.0.1:{cfg.bolt_port}",
                                  auth=(cfg.user, self.settings.password())) as driver:
            apply_schema(driver, database)
        shutil.rmtree(record["folder"], ignore_errors=True)
        self.end_import()
        undone = (f"its unfinished import removed (database {database!r} is empty: run it "
                  "again), " if record["stage"] == "import" else "")
        return (f"an interrupted `mmkg ingest --bulk` (pid {record['pid']}, stage "
                f"{record['stage']!r}) was finished: {undone}the schema applied, its CSV "
                "files removed")

    def database_folders(self, database: str) -> tuple[Path, Path]:
        """The store and the transaction-log folders of ``database``."""
        data = self.home / "data"
        return data / "databases" / database, data / "transactions" / database

    def remove_database_files(self, database: str) -> None:
        """Remove the files of ``database`` of the *stopped* server (what a failed or
        interrupted import left): the server creates it empty on its next start."""
        for folder in self.database_folders(database):
            shutil.rmtree(folder, ignore_errors=True)

    def _write_import(self, record: dict) -> None:
        partial = self.import_file.with_suffix(".partial")
        partial.write_text(json.dumps(record))
        partial.replace(self.import_file)

    # -- helpers ------------------------------------------------------------------------------
    def _ensure_password(self) -> None:
        """Log in once: as ``neo4j/neo4j`` to replace the built-in password with the configured
        one while :attr:`password_pending` says the store still has it, else with the configured
        password to check it.

        Raises:
            ServerError: the store has another password, or Neo4j refused the new one: one line.
        """
        cfg = self.settings.neo4j
        wanted = self.settings.password()
        uri = f"bolt://127.0.0.1:{cfg.bolt_port}"
        pending = self.password_pending.exists()
        try:
            if pending:
                with GraphDatabase.driver(uri, auth=(cfg.user, DEFAULT_PASSWORD)) as driver:
                    with driver.session(database="system") as session:
                        session.run(load_query("server_set_password"), old=DEFAULT_PASSWORD,
                                    new=wanted).consume()
                self.password_pending.unlink()
            else:
                with GraphDatabase.driver(uri, auth=(cfg.user, wanted)) as driver:
                    driver.verify_connectivity()
        except AuthError as e:
            data = self.home / "data"
            raise ServerError(
                f"the local database in {data} has another password than the configured one: set "
                f"MMKG_NEO4J_PASSWORD to it, or remove {data} to start afresh, which deletes "
                "every database in it"
            ) from e
        except ClientError as e:
            what = "to set the configured password" if pending else "the login"
            raise ServerError(f"Neo4j refused {what}: {e.message}") from e


def _fetch(pom: Path, folder: Path, version_property: str, version: str, what: str,
           arrange: Callable[[Path], None] | None = None) -> Path:
    """Copy the runtime dependencies of ``pom`` (with ``-D<version_property>=<version>``) into
    ``folder`` with Maven, once; ``arrange`` may then rearrange the fetched folder.

    ``folder/.complete`` (holding ``version``) marks a finished fetch; a fetch of another version
    (e.g. a new GDS release in the same Neo4j cache) replaces the folder.
    """
    marker = folder / ".complete"
    if marker.exists() and marker.read_text().strip() == version:
        return folder
    what = f"{what} {version}"
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServerError(f"Maven (mvn) is needed once to fetch the {what} jars: apt-get install maven")
    staging = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [mvn, "-q", "-B", "-f", str(pom), f"-D{version_property}={version}", "dependency:copy-dependencies",
           f"-DoutputDirectory={staging}", "-Dmdep.includeScope=runtime"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise ServerError(f"fetching the {what} jars with Maven failed:\n{tail}")
    if arrange is not None:
        arrange(staging)
    (staging / ".complete").write_text(version + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


def _set_aside_library_jars(plugins: Path) -> None:
    """Move every jar of ``plugins`` that declares no procedure or function into
    ``plugins/lib`` (:data:`PLUGIN_LIBRARIES`)."""
    libraries = plugins / PLUGIN_LIBRARIES
    libraries.mkdir()
    for jar in plugins.glob("*.jar"):
        with zipfile.ZipFile(jar) as archive:
            declares = any(marker in archive.read(name) for name in archive.namelist()
                           if name.endswith(".class") for marker in PROCEDURE_ANNOTATIONS)
        if not declares:
            jar.rename(libraries / jar.name)


def check_start_settings(settings: Settings) -> None:
    """Refuse settings no Neo4j server starts with, before anything is launched.

    Raises:
        ServerError: the Bolt and HTTP ports are equal, or the password is shorter than
            :data:`MIN_PASSWORD_LENGTH`: one line.
    """
    cfg = settings.neo4j
    if cfg.bolt_port == cfg.http_port:
        raise ServerError(f"the Bolt and HTTP ports are both {cfg.bolt_port}: set MMKG_NEO4J_BOLT_PORT "
                          "and MMKG_NEO4J_HTTP_PORT to two different ports")
    if len(settings.password()) < MIN_PASSWORD_LENGTH:
        raise ServerError(f"the configured Neo4j password is too short: Neo4j requires at least "
                          f"{MIN_PASSWORD_LENGTH} characters (MMKG_NEO4J_PASSWORD)")


def check_jars(folder: Path) -> None:
    """Check that ``folder`` (and its subfolders) holds jars and that each opens as a zip archive
    (a truncated or overwritten cache does not).

    Raises:
        ServerError: one line naming the first damaged jar and how to fetch the jars again.
    """
    jars = sorted(folder.rglob("*.jar"))
    damaged = None if jars else folder
    for jar in jars:
        try:
            with zipfile.ZipFile(jar):
                pass
        except (zipfile.BadZipFile, OSError):
            damaged = jar
            break
    if damaged is not None:
        what = "holds no jar" if damaged == folder else "is not a readable jar"
        raise ServerError(f"the jar cache is damaged: {damaged} {what}; remove {folder} and run "
                          "`mmkg db start` again to fetch it anew")


def restrict_to_owner(home: Path, tree: Path) -> None:
    """Make ``home`` (not what else it holds) and everything under ``tree`` owner-only:
    directories 0700, other files 0600 (an executable bit is kept for the owner). Entries that
    vanish meanwhile (a running server rotating its logs) are skipped."""
    if home.is_dir():
        os.chmod(home, 0o700)
    if not tree.is_dir():
        return
    for folder, _subfolders, files in os.walk(tree):
        for name, mode in [(folder, 0o700), *((os.path.join(folder, f), 0o600) for f in files)]:
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(name)
                if stat.S_ISLNK(st.st_mode):
                    continue
                os.chmod(name, mode | (st.st_mode & stat.S_IXUSR))


def java_executable() -> str:
    """The ``java`` of ``JAVA_HOME`` or the PATH, checked to be Java 17 or newer (Neo4j 5 needs it).

    Raises:
        ServerError: no Java, or one older than 17.
    """
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ServerError("Java 17 is needed to run Neo4j 5: apt-get install openjdk-17-jre-headless")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    try:
        major = int(out.split('"')[1].split(".")[0])
    except (IndexError, ValueError):
        major = 0
    if major < 17:
        raise ServerError(f"Neo4j 5 needs Java 17 or newer; {java} is: {out.splitlines()[:1]}")
    return java


BOLT_MAGIC = b"\x60\x60\xb0\x17"
#: Proposed Bolt versions: 5.0-5.8 (range 8 below 5.8), then 4.4; unused slots are zero.
BOLT_VERSIONS = bytes([0, 8, 8, 5, 0, 0, 4, 4]) + bytes(8)


def bolt_handshake(port: int, timeout: float = 2.0) -> bool:
    """True when a Bolt server on ``port`` completes the version handshake.

    Unlike logging in, this never counts as a failed authentication attempt (Neo4j locks an
    account briefly after a few of those).
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(BOLT_MAGIC + BOLT_VERSIONS)
            reply = sock.recv(4)
    except OSError:
        return False
    return len(reply) == 4 and reply != bytes(4)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def http_version(http_port: int) -> str | None:
    """The server version from the HTTP discovery document, or None when unreachable."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/", timeout=2) as resp:
            return json.load(resp).get("neo4j_version")
    except (OSError, ValueError):
        return None
