"""The shape of the code: Cypher only in ``cypher/``, and imports that flow one way.

Modules are found on disk and parsed (never imported), so these tests are fast and see imports
inside functions too. ``mmkg/``, ``ingest/``, ``train/`` and ``publish/`` install as ``mmkg``,
``mmkg.ingest``, ``mmkg.train`` and ``mmkg.publish`` (``pyproject.toml``).
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
CYPHER_WORDS = re.compile(r"\b(MATCH|MERGE|CREATE|UNWIND)\b")


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


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_cypher_outside_cypher_files(name):
    """``MATCH``, ``MERGE``, ``CREATE``, ``UNWIND`` as upper-case words only in ``cypher/`` (and
    in ``tests/`` and ``bench/``, which are not installed)."""
    lines = MODULES[name].read_text().splitlines()
    hits = [f"{MODULES[name].relative_to(ROOT)}:{i}: {line.strip()}"
            for i, line in enumerate(lines, start=1) if CYPHER_WORDS.search(line)]
    assert not hits, "Cypher belongs in cypher/*.cypher:\n" + "\n".join(hits)
