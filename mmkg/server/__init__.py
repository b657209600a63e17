"""The Neo4j server mmkg runs for you: Maven Central jars (default) or Docker Compose."""

from mmkg.config import Settings
from mmkg.errors import ConfigError
from mmkg.server.docker import COMPOSE_FILE, ComposeServer, docker_engine_available
from mmkg.server.local import LocalServer, ServerStatus


def server_for(settings: Settings) -> LocalServer | ComposeServer:
    """Docker Compose when ``settings.neo4j.server`` says so (or ``auto`` finds an engine and a
    source checkout's ``docker-compose.yml``), else jars."""
    mode = settings.neo4j.server
    if mode == "docker" or (mode == "auto" and COMPOSE_FILE.is_file() and docker_engine_available()):
        return ComposeServer(settings)
    return LocalServer(settings)


def managed_server(settings: Settings, verb: str) -> LocalServer | ComposeServer:
    """The server ``mmkg db <verb>`` (start, stop, status, wait) acts on: :func:`server_for`,
    when the configured URI is that server (a loopback host at the configured Bolt port).

    Raises:
        ConfigError: the URI names another server: one line.
    """
    cfg = settings.neo4j
    if not cfg.is_local_server:
        raise ConfigError(f"`mmkg db {verb}` acts on the local server (127.0.0.1:{cfg.bolt_port}), "
                          f"and the configured URI {cfg.bolt_uri} is another server: {verb} that "
                          "one with its own tools, or unset --uri / MMKG_NEO4J_URI")
    return server_for(settings)


def own_local_server(settings: Settings, doing: str, verb: str, otherwise: str) -> LocalServer:
    """The local server of the jars, whose own files ``doing`` works on: it must be the server
    ``settings`` talk to.

    Raises:
        ConfigError: the URI is another server, or the server runs in Docker: one line,
            "<doing> on the local server's own files and cannot <verb> <which>: <otherwise>".
    """
    cfg = settings.neo4j
    server = server_for(settings)
    if not isinstance(server, LocalServer) or not cfg.is_local_server:
        which = "the Docker server" if cfg.is_local_server else f"{cfg.bolt_uri}, not the local server"
        raise ConfigError(f"{doing} on the local server's own files and cannot {verb} {which}: "
                          f"{otherwise}")
    return server


__all__ = ["LocalServer", "ComposeServer", "ServerStatus", "server_for", "managed_server",
           "own_local_server"]
