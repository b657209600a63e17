"""The exception hierarchy of mmkg. The CLI turns any :class:`MmkgError` into one clean line."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic is only needed to word an error
    from pydantic import ValidationError


class MmkgError(Exception):
    """Root of all errors mmkg raises on purpose."""


class ConfigError(MmkgError):
    """Settings are missing or invalid."""

    @classmethod
    def invalid(cls, what: str, error: "ValidationError") -> "ConfigError":
        """One line naming every bad field of a pydantic ``error``, e.g.
        ``invalid training config: lr: Input should be greater than 0 (got -1.0)``."""
        return cls(f"invalid {what}: {validation_summary(error)}")


class SchemaError(MmkgError):
    """A label, relationship type or property violates the graph schema."""


class ServerError(MmkgError):
    """The local Neo4j server could not be installed, started, stopped or reached."""


class DatabaseError(MmkgError):
    """Neo4j refused a query or a connection (wrong password, constraint violation, ...)."""

    @classmethod
    def commit_unknown(cls, what: str = "a write") -> "DatabaseError":
        """The connection died while ``what`` was committing (the driver's ``IncompleteCommit``):
        the server may or may not have applied it. Every mmkg write is idempotent, so running
        the command again completes it."""
        return cls(f"Neo4j went away while committing {what}: whether that commit was applied is "
                   "unknown; the graph stays consistent, and re-running the command completes it")


class NotFoundError(MmkgError):
    """The user, track or published model asked for does not exist (or cannot answer)."""


class IngestError(MmkgError):
    """A catalog is invalid. ``problems`` lists every ``file:line:column: message``.

    One problem makes a one-line message (``tracks.csv:3:*: ...; nothing was written``); several
    make a summary line followed by one line per problem (at most 50).
    """

    def __init__(self, problems: list[str], summary: str | None = None) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            super().__init__(f"{self.problems[0]}; nothing was written")
            return
        head = summary or f"{len(self.problems)} problem(s) found; nothing was written"
        super().__init__("\n".join([head, *self.problems[:50]]) + (
            f"\n... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        ))


class FeatureError(MmkgError):
    """Feature extraction could not finish (a worker died); what was computed is written."""


class ExportError(MmkgError):
    """A subgraph could not be exported, or an export folder is unreadable."""


class TrainError(MmkgError):
    """Training or evaluation was configured or fed inconsistently."""


class RunFolderError(MmkgError):
    """A training run folder is missing, incomplete or unreadable."""


class PublishError(MmkgError):
    """A training run could not be published (inconsistent folder, missing nodes)."""


USERINFO = re.compile(r"(?<=://)[^/@\s]*@")
"""The ``user:password@`` of a URI."""


def redact(text: str) -> str:
    """``text`` with the credentials of every URI in it replaced: ``bolt://***@host``."""
    return USERINFO.sub("***@", text)


SECRET_NAME = re.compile(r"pass|secret|token|credential|auth", re.IGNORECASE)
"""A setting name whose value an error never echoes (``password``, ``passwd``, ``api_token``)."""


def validation_summary(error: "ValidationError") -> str:
    """Every problem of a pydantic ``error`` on one line: ``field: message (got value); ...``.

    The value is echoed only where it cannot be a secret: never for a field named like one
    (:data:`SECRET_NAME`), nor for an unknown key (``passwd = ...`` is the typo of a secret), and a
    table is named by its keys only; a URI's credentials are replaced (:func:`redact`)."""
    parts = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(p) for p in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")  # a validator's own wording
        if not where:  # a check across fields: its message says it all
            parts.append(message)
        elif problem["type"] == "extra_forbidden":
            parts.append(f"{where}: unknown key")
        else:
            parts.append(f"{where}: {message}{_echoed(problem)}")
    return "; ".join(parts)


def _echoed(problem: dict) -> str:
    """`` (got VALUE)`` for a validation ``problem``, as :func:`validation_summary` may show it."""
    if problem["type"] == "missing":
        return ""
    if any(SECRET_NAME.search(str(p)) for p in problem["loc"]):
        return " (value not shown)"
    value = problem["input"]
    if isinstance(value, dict):
        keys = ", ".join(map(str, value)) or "no keys"
        return f" (got a table of {keys if len(keys) <= 60 else keys[:60] + '…'})"
    return f" (got {redact(repr(value))[:60]})"
