"""Run the same Neo4j through ``docker-compose.yml`` when a Docker engine is present."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from pathlib import Path

from mmkg.config import NEO4J_VERSION, PROJECT_ROOT, Settings
from mmkg.errors import ServerError
from mmkg.server.local import ServerStatus, bolt_handshake, check_start_settings, http_version

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"


def compose_variables(settings: Settings) -> dict[str, str]:
    """The variables ``docker-compose.yml`` reads, from ``settings``: the server runs with the
    password, ports, memory and version the local server would. The image tag is
    ``NEO4J_IMAGE_TAG``, outside the ``MMKG_NEO4J_`` prefix of mmkg's own settings (which refuse
    an unknown name)."""
    cfg = settings.neo4j
    return {"MMKG_NEO4J_PASSWORD": settings.password(), "MMKG_NEO4J_BOLT_PORT": str(cfg.bolt_port),
            "MMKG_NEO4J_HTTP_PORT": str(cfg.http_port), "MMKG_NEO4J_HEAP": cfg.heap,
            "MMKG_NEO4J_PAGECACHE": cfg.pagecache, "NEO4J_IMAGE_TAG": f"{NEO4J_VERSION}-community"}


def docker_engine_available() -> bool:
    """True when a Docker client with the Compose plugin is installed *and* an engine answers it."""
    if not compose_plugin_available():
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def compose_plugin_available() -> bool:
    """True when a ``docker`` client is installed and has the Compose plugin (``docker compose``)."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class ComposeServer:
    """Same interface as :class:`~mmkg.server.local.LocalServer`, backed by ``docker compose``."""

    def __init__(self, settings: Settings) -> None:
        """Raises:
            ServerError: no ``docker-compose.yml`` (a wheel install ships none): one line.
        """
        if not COMPOSE_FILE.is_file():
            raise ServerError(f"the docker server needs {COMPOSE_FILE.name} of a source checkout, which "
                              "this install lacks: set MMKG_NEO4J_SERVER=java (Neo4j from Maven Central)")
        self.settings = settings
        self.log_file = Path("docker compose logs neo4j")
        self.recovered: str | None = None
        """Always None: ``--bulk`` (offline imports) runs on the local server only."""

    def _compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``docker compose -f docker-compose.yml ARGS`` with :func:`compose_variables`.

        Raises:
            ServerError: no ``docker`` client with the Compose plugin (one line), or (``check``)
                the command failed.
        """
        if not compose_plugin_available():
            raise ServerError("the docker server needs a docker client with the Compose plugin "
                              "(`docker compose`), which is missing: install docker-compose-plugin, "
                              "or set MMKG_NEO4J_SERVER=java (Neo4j from Maven Central)")
        proc = subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), *args],
                              capture_output=True, text=True,
                              env={**os.environ, **compose_variables(self.settings)})
        if check and proc.returncode != 0:
            raise ServerError(f"docker compose {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
        return proc

    def start(self, timeout: float = 120.0) -> bool:
        check_start_settings(self.settings)
        running = self.pid() is not None
        self._compose("up", "-d", "neo4j")
        self.wait(timeout)
        return not running

    def wait(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if bolt_handshake(self.settings.neo4j.bolt_port):  # Docker's proxy opens the port early
                return
            time.sleep(0.5)
        raise ServerError(f"Neo4j (docker) did not answer within {timeout:.0f}s\n" + self.log_tail())

    def stop(self, timeout: float = 60.0) -> bool:
        running = self.pid() is not None
        self._compose("stop", "-t", str(int(timeout)), "neo4j")
        return running

    def pid(self) -> int | None:
        out = self._compose("ps", "-q", "neo4j", check=False).stdout.strip()
        return 1 if out else None

    def status(self) -> ServerStatus:
        cfg = self.settings.neo4j
        running = self.pid() is not None
        return ServerStatus(running, None, http_version(cfg.http_port) if running else None,
                            cfg.bolt_uri, cfg.browser_url, self.log_file)

    def log_tail(self, lines: int = 20) -> str:
        return self._compose("logs", "--tail", str(lines), "neo4j", check=False).stdout
