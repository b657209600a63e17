"""Back up and restore the local server's database: ``mmkg db dump FILE`` and ``mmkg db load
FILE``, through Neo4j's own ``neo4j-admin database dump|load`` (:data:`ADMIN_TOOL` from the cached
jars).

Community Edition dumps and loads a stopped database only, and cannot stop one database alone:
the server is stopped for the command and started again when it was running. A dump holds the
whole database: nodes, relationships, properties, indexes and constraints, the published models'
vector indexes included, so a load gives back the graph and every answer `recommend` served from
it. A dump that does not load leaves the database as it was: its folders are set aside (renamed)
for the load and put back when it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mmkg.errors import ServerError
from mmkg.files import owner_only
from mmkg.server.local import ADMIN_TOOL, LocalServer, java_executable


def dump(server: LocalServer, database: str, file: Path) -> int:
    """Write ``database`` of ``server`` to the dump ``file`` (replaced when it exists, only once
    the new dump is complete); return its size in bytes.

    Raises:
        ServerError: the dump failed (``neo4j-admin``'s reason, one line); ``file`` is untouched.
    """
    file = Path(file).resolve()
    file.parent.mkdir(parents=True, exist_ok=True)
    with owner_only(), tempfile.TemporaryDirectory(dir=file.parent, prefix=".mmkg-dump-") as tmp, \
            _stopped(server):
        _admin(server, "dump", database, f"--to-path={tmp}")
        (Path(tmp) / f"{database}.dump").replace(file)
    return file.stat().st_size


def load(server: LocalServer, database: str, file: Path) -> None:
    """Replace ``database`` of ``server`` with the dump ``file``. A process that holds a driver
    renews its bookmarks afterwards (:func:`mmkg.graph.renew_bookmarks`): the loaded store numbers
    its transactions afresh.

    Raises:
        ServerError: ``file`` is no dump, or the load failed (``neo4j-admin``'s reason, one line).
    """
    file = Path(file).resolve()
    with tempfile.TemporaryDirectory(prefix="mmkg-load-") as tmp, _stopped(server):
        link = Path(tmp) / f"{database}.dump"  # the name neo4j-admin reads
        os.symlink(file, link)
        folders = server.database_folders(database)
        aside = [folder.with_name(f".{folder.name}.before-load") for folder in folders]
        for kept in aside:  # never deleted unless a load completed: it may be the only copy
            if kept.exists():
                raise ServerError(f"an earlier load was interrupted and set the database aside in "
                                  f"{kept}: move it back to {kept.with_name(database)} (or delete "
                                  "it), then load again")
        for folder, kept in zip(folders, aside):  # renamed, not copied: a load that fails
            if folder.exists():                   # puts them back
                folder.rename(kept)
        try:
            _admin(server, "load", database, f"--from-path={tmp}")
        except BaseException as e:
            server.remove_database_files(database)
            for folder, kept in zip(folders, aside):
                if kept.exists():
                    kept.rename(folder)
            if isinstance(e, ServerError):  # named by the user's path, not the link's
                raise ServerError(str(e).replace(str(link), str(file))) from e
            raise
        for kept in aside:
            shutil.rmtree(kept, ignore_errors=True)


@contextmanager
def _stopped(server: LocalServer) -> Iterator[None]:
    """Run the block with ``server`` stopped; start it again afterwards when it was running."""
    running = server.pid() is not None
    server.stop()
    try:
        yield
    finally:
        if running:
            server.start()


def _admin(server: LocalServer, command: str, *args: str) -> None:
    """Run ``neo4j-admin database COMMAND ARGS`` on ``server``'s (stopped) files.

    Raises:
        ServerError: it exited non-zero; the message is its last meaningful line.
    """
    lib, _ = server.install()
    server.write_conf()
    cmd = [java_executable(), f"-Xmx{server.settings.neo4j.heap}", "-cp", f"{lib}/*", ADMIN_TOOL,
           "database", command, *args, "--verbose"]
    env = {**os.environ, "NEO4J_HOME": str(server.home), "NEO4J_CONF": str(server.conf_dir)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stdout + done.stderr).splitlines()]
        reason = next((line for line in lines if line.startswith("Failed to ")),  # its own words
                      next((line for line in reversed(lines) if line and not line.startswith(
                          ("at ", "..."))), f"exit status {done.returncode}"))
        raise ServerError(f"neo4j-admin database {command} failed: {reason}")
