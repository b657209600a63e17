"""Load the Cypher queries that live in ``cypher/`` (one query per file, ``$params`` only)."""

from __future__ import annotations

from functools import cache

from mmkg.config import PROJECT_ROOT
from mmkg.errors import MmkgError

CYPHER_DIR = PROJECT_ROOT / "cypher"


@cache
def load_query(name: str) -> str:
    """Return the text of ``cypher/<name>.cypher`` with ``//`` comment lines removed."""
    path = CYPHER_DIR / f"{name}.cypher"
    try:
        text = path.read_text()
    except OSError as e:
        raise MmkgError(f"missing query file {path}") from e
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")).strip()


def split_statements(text: str) -> list[str]:
    """Split a multi-statement ``.cypher`` file (such as ``schema.cypher``) on ``;``."""
    return [s.strip() for s in text.split(";") if s.strip()]
