"""The shape of the code: Cypher only in ``.cypher`` files, and imports that flow one way.

Modules are found on disk and parsed (never imported), so these tests are fast and see imports
inside functions too. ``mmkg/``, ``ingest/``, ``train/`` and ``publish/`` install as ``mmkg``,
``mmkg.ingest``, ``mmkg.train`` and ``mmkg.publish`` (``pyproject.toml``); ``bench/`` holds
scripts that may import anything and that nothing imports, with their queries in ``bench/cypher/``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = {"mmkg": "mmkg", "ingest": "mmkg.ingest", "train": "mmkg.train",
            "publish": "mmkg.publish"}
"""Repository folder → installed package."""
_END = r"""\s*(?:$|[,"']|\b(?:AS|WHERE|ORDER|LIMIT|RETURN|WITH|SET)\b)"""
"""What follows a variable that ends a clause: the end of the line or string, a comma, a keyword."""
CYPHER = re.compile(rf"""
    \b(?:OPTIONAL\s+)?MATCH\s*\(
  | \bMERGE\s*\(
  | \bCREATE\s*(?:\(|CONSTRAINT\b|(?:VECTOR\s+|FULLTEXT\s+|RANGE\s+)?INDEX\b)
  | \bDROP\s+(?:CONSTRAINT|INDEX)\b
  | \bUNWIND\s+[$\w\[(]
  | \bDETACH\s+DELETE\b | \bDELETE\s+[a-z_]\w*{_END}
  | \bSET\s+(?:[a-z_]\w*\s*(?:\.|\+?=|:)|PASSWORD\b)
  | \bREMOVE\s+[a-z_]\w*\s*[.:]
  | \bRETURN\s+(?:DISTINCT\s+)?(?:[$*]|[a-z_]\w*\s*[.(]|[a-z_]\w*{_END})
  | \bWITH\s+(?:DISTINCT\s+)?(?:\*|[a-z_]\w*(?:\.\w+)?{_END})
  | \bCALL\s*(?:\{{|[a-z]\w*\.)
  | \bYIELD\s+[a-z_]\w*
""", re.X | re.M)
"""Cypher clauses by their upper-case shape (``MATCH (``, ``SET n.x``, ``WITH a, b``, ``CALL db.``
...), so that English words in prose (``SET``, ``WITH``, ``DELETE``) do not count."""
LITERAL = re.compile(r"``.*?``")
"""An inline literal of a docstring or comment (``SET n += props``): prose about Cypher, not Cypher."""
BENCH = sorted((ROOT / "bench").glob("*.py"))


def modules() -> Iterator[tuple[str, Path]]:
    """``(module name, path)`` of every Python module that installs under ``mmkg``."""
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join([package, *parts]), path


MODULES = dict(modules())


def imports(name: str, path: Path, *, top_level_only: bool = False) -> set[str]:
    """The ``mmkg`` modules ``name`` imports (``from a import b`` counts ``a.b`` when that is a
    module, else ``a``); with ``top_level_only``, only imports run when the module loads."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
                package = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{package}.{base}" if base else package
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m == "mmkg" or m.startswith("mmkg.")}


def _within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


#: (importer packages, packages they must not import)
RULES = [
    (("mmkg.graph", "mmkg.schema", "mmkg.config", "mmkg.errors", "mmkg.export", "mmkg.server",
      "mmkg.ingest", "mmkg.recommend", "mmkg.progress", "mmkg.sample_catalog", "mmkg.files"),
     ("mmkg.train", "mmkg.publish", "mmkg.cli")),
    (("mmkg.ingest",), ("mmkg.export", "mmkg.train", "mmkg.publish")),
    (("mmkg.train",), ("mmkg.ingest", "mmkg.publish", "mmkg.cli")),
    (("mmkg.publish",), ("mmkg.ingest", "mmkg.cli")),
    (("mmkg.recommend",), ("mmkg.ingest", "mmkg.export")),
]
ENTRY_POINTS = {"mmkg.__main__"}
"""Modules besides ``mmkg.cli`` that may import the CLI (``python -m mmkg``)."""


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_flow_one_way(name):
    found = imports(name, MODULES[name])
    for importers, forbidden in RULES:
        if _within(name, *importers):
            wrong = sorted(m for m in found if _within(m, *forbidden))
            assert not wrong, f"{name} imports {wrong}: {', '.join(importers)} must not import " \
                              f"{', '.join(forbidden)}"
    if not _within(name, "mmkg.cli") and name not in ENTRY_POINTS:
        assert not any(_within(m, "mmkg.cli") for m in found), f"{name} imports the CLI"


def unit(module: str) -> str:
    """The part of the code ``module`` belongs to: a top-level module or subpackage of ``mmkg``,
    ``mmkg.ingest`` or ``mmkg.train`` (``mmkg.ingest.readers.kgcn`` → ``mmkg.ingest.readers``)."""
    depth = 3 if _within(module, "mmkg.ingest", "mmkg.train", "mmkg.publish") else 2
    return ".".join(module.split(".")[:depth])


def test_no_import_loops_between_parts():
    """No part imports, even lazily inside a function, a part that imports it back (directly or
    through others): shared types live in a neutral module both import."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        graph.setdefault(unit(name), set()).update(unit(m) for m in imports(name, path))
    graph = {u: targets - {u} for u, targets in graph.items()}
    loops = _cycles(graph)
    assert not loops, "import loops:\n" + "\n".join(" <-> ".join(c) for c in loops)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def cypher_lines(path: Path) -> list[str]:
    """The lines of ``path`` that hold a Cypher clause outside an inline ``literal``."""
    lines = path.read_text().splitlines()
    return [f"{path.relative_to(ROOT)}:{i}: {line.strip()}"
            for i, line in enumerate(lines, start=1) if CYPHER.search(LITERAL.sub("", line))]


@pytest.mark.parametrize("path", [*MODULES.values(), *BENCH], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_cypher_outside_cypher_files(path):
    """Installed modules and benchmarks spell no Cypher clause (``tests/`` may, to check the graph)."""
    hits = cypher_lines(path)
    assert not hits, "Cypher belongs in cypher/*.cypher (bench: bench/cypher/):\n" + "\n".join(hits)


@pytest.mark.parametrize("clause", ["MATCH (n)", "OPTIONAL MATCH (n)", "MERGE (n:Tag {id: $id})",
                                    "CREATE (n)", "CREATE CONSTRAINT x", "UNWIND $rows AS row", "DELETE r",
                                    "DETACH DELETE n", "SET n.x = 1", "SET n += $props", "SET n:Label",
                                    "REMOVE n.x", "RETURN n.id AS id", "RETURN count(*)", "WITH a, b",
                                    "WITH n AS m", "CALL db.labels()", "CALL { MATCH (n) }", "YIELD name"])
def test_the_cypher_detector_finds_every_clause(tmp_path, clause):
    """The detector above is not blind: each clause, as Python code would hold it, is found; the
    same words as English prose are not."""
    module = tmp_path / "module.py"
    module.write_text(f'QUERY = "{clause}"\n"""We SET the value, then RETURN early; MATCH tracks WITH care and DELETE them."""\n')
    assert [line.split(": ", 1)[1] for line in cypher_lines_of(module)] == [f'QUERY = "{clause}"']


def cypher_lines_of(path: Path) -> list[str]:
    """:func:`cypher_lines` of a file outside the repository."""
    return [f"{path.name}:{i}: {line.strip()}" for i, line in enumerate(path.read_text().splitlines(), 1)
            if CYPHER.search(LITERAL.sub("", line))]


@pytest.mark.parametrize("path", sorted([*(ROOT / "cypher").rglob("*.cypher"), *(ROOT / "bench" / "cypher").glob("*.cypher")]),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_cypher_detector_finds_every_query_file(path):
    """Every real statement is recognised, so a statement pasted into Python would be too."""
    body = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
    assert CYPHER.search(body), path


def test_nothing_imports_the_benchmarks():
    """``bench/`` may import anything; no installed module and no test imports it."""
    importers = [*MODULES.items(), *((p.stem, p) for p in sorted((ROOT / "tests").glob("*.py")))]
    wrong = [name for name, path in importers
             if any(isinstance(node, (ast.Import, ast.ImportFrom))
                    and any(m == "bench" or m.startswith("bench.")
                            for m in ([a.name for a in node.names] if isinstance(node, ast.Import)
                                      else [node.module or ""]))
                    for node in ast.walk(ast.parse(path.read_text())))]
    assert not wrong, f"{wrong} import bench/"


def test_the_schema_names_every_media_column():
    """``mmkg.schema.MEDIA_PROPS`` (what serving reads) are the catalog's media columns, one per
    registered media kind (what ingest writes)."""
    from mmkg.ingest.features import MEDIA_KINDS
    from mmkg.schema import MEDIA_PROPS

    assert set(MEDIA_PROPS) == set(MEDIA_KINDS.names())
