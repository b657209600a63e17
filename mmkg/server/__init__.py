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


__all__ = ["LocalServer", "ComposeServer", "ServerStatus", "server_for", "own_local_server"]
