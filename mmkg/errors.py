"""The exception hierarchy of mmkg. The CLI turns any :class:`MmkgError` into one clean line."""

from __future__ import annotations


class MmkgError(Exception):
    """Root of all errors mmkg raises on purpose."""


class ConfigError(MmkgError):
    """Settings are missing or invalid."""


class SchemaError(MmkgError):
    """A label, relationship type or property violates the graph schema."""


class ServerError(MmkgError):
    """The local Neo4j server could not be installed, started, stopped or reached."""


class DatabaseError(MmkgError):
    """Neo4j refused a query or a connection (wrong password, constraint violation, ...)."""


class IngestError(MmkgError):
    """A catalog is invalid. ``problems`` lists every ``file:line:column: message``."""

    def __init__(self, problems: list[str], summary: str | None = None) -> None:
        self.problems = list(problems)
        head = summary or f"{len(self.problems)} problem(s) found; nothing was written"
        super().__init__("\n".join([head, *self.problems[:50]]) + (
            f"\n... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        ))


class ExportError(MmkgError):
    """A subgraph could not be exported, or an export folder is unreadable."""


class TrainError(MmkgError):
    """Training or evaluation was configured or fed inconsistently."""


class PublishError(MmkgError):
    """A training run could not be published (inconsistent folder, missing nodes)."""
