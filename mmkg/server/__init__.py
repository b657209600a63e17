"""The Neo4j server mmkg runs for you: Maven Central jars (default) or Docker Compose."""

from mmkg.config import Settings
from mmkg.server.docker import COMPOSE_FILE, ComposeServer, docker_engine_available
from mmkg.server.local import LocalServer, ServerStatus


def server_for(settings: Settings) -> LocalServer | ComposeServer:
    """Docker Compose when ``settings.neo4j.server`` says so (or ``auto`` finds an engine and a
    source checkout's ``docker-compose.yml``), else jars."""
    mode = settings.neo4j.server
    if mode == "docker" or (mode == "auto" and COMPOSE_FILE.is_file() and docker_engine_available()):
        return ComposeServer(settings)
    return LocalServer(settings)


__all__ = ["LocalServer", "ComposeServer", "ServerStatus", "server_for"]
