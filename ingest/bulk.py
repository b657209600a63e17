"""First load of an empty database with Neo4j's offline importer (``neo4j-admin database import full``).

``mmkg ingest --bulk`` validates exactly like an online ingest, then: writes the importer's CSV
files (one per label and per relationship type and endpoint labels), stops the local server,
runs ``org.neo4j.cli.AdminTool database import full`` on the server's own data folder, starts
the server again and applies ``cypher/schema.cypher`` (:func:`mmkg.graph.schema.apply_schema`).

The graph is the one :func:`mmkg.ingest.writers.write_graph` writes for the same data: the same
nodes (labels, ``id`` and properties), relationships and property values, typed as the driver
types them (``str`` → String, ``int`` → Integer, ``float`` → Float, a float vector → List<Float>;
floats are written with ``repr``, which round-trips exactly). Missing values (``None``) are
empty unquoted cells, which the importer leaves unset, as the online writers leave them out.

Limits of Neo4j 5.26 Community: the importer refuses a running database and cannot add to one,
so ``--bulk`` only loads an empty database (:func:`count_nodes`) of the local server (not a remote
URI, not Docker); the importer's ``--schema`` needs Enterprise's block format, so the
constraints are created after the import (which builds their indexes). Later ingests use the
online writers.

Whatever happens, the server runs again afterwards with the schema applied: an importer that
fails or a Ctrl-C leaves the database empty (re-run the ingest). The import is recorded on the
server while it runs (:meth:`LocalServer.begin_import`), and the importer dies with this process
(``prctl(PR_SET_PDEATHSIG)``), so a ``kill -9`` leaves no orphan replacing the store: the next
``mmkg db start`` (or ``ingest --bulk``) removes an unfinished store and the CSV files and
applies the schema (:meth:`LocalServer.finish_interrupted_import`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import signal
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from neo4j import Driver
from rich.progress import Progress

from mmkg.errors import IngestError
from mmkg.files import owner_only
from mmkg.graph import WriteSummary, load_query, renew_bookmarks, run_implicit
from mmkg.graph.schema import apply_schema
from mmkg.ingest.featureset import FeatureSet
from mmkg.ingest.graphdata import GraphData
from mmkg.progress import progress_bar
from mmkg.schema import Label, RelType, feature_id, kg_relation_type
from mmkg.server.local import ADMIN_TOOL, LocalServer, java_executable

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal a process gets when its parent dies (``<linux/prctl.h>``)."""
_PHASE = re.compile(r"^\((\d+)/(\d+)\) (.+?) \d{4}-\d\d-\d\d")
_PERCENT = re.compile(r"\s(\d{1,3})% ∆")
_JAVA_CLASS = re.compile(r"^(?:(?:[\w$]+\.)+[\w$]+(?:Exception|Error): )+")
"""Leading exception class names (``java.lang.IllegalStateException: ``)."""


@dataclass
class ImportFiles:
    """The importer's input: ``--nodes=LABELS=file`` and ``--relationships=TYPE=file`` pairs."""

    folder: Path
    nodes: list[tuple[str, Path]] = field(default_factory=list)
    relationships: list[tuple[str, Path]] = field(default_factory=list)
    node_rows: dict[str, int] = field(default_factory=dict)
    relationship_rows: dict[str, int] = field(default_factory=dict)
    multiline: bool = False
    """Some string holds a line break (the importer must be told: it is slower then)."""


def count_nodes(driver: Driver, database: str) -> int:
    """The number of nodes in ``database`` (``cypher/count_nodes.cypher``)."""
    return int(run_implicit(driver, database, load_query("count_nodes"))[0]["n"])


def check_bulk_target(driver: Driver, database: str, server: LocalServer) -> None:
    """``database`` is empty and ``server`` runs: the preconditions of :func:`bulk_load`. An
    earlier ``--bulk`` that died after restarting the server is finished first (logged).

    Raises:
        IngestError: the database holds nodes, or the server does not run.
    """
    if server.pid() is None:
        raise IngestError([f"--bulk needs the local server running (`mmkg db start`); "
                           f"{server.settings.neo4j.bolt_uri} is not"])
    recovered = server.finish_interrupted_import(server.interrupted_import())
    if recovered:
        log.warning("%s", recovered)
    n = count_nodes(driver, database)
    if n:
        raise IngestError([f"--bulk loads an empty database only, and database {database!r} holds "
                           f"{n:,} nodes: ingest without --bulk (online writes) to add to it, or "
                           "empty it first (`mmkg db reset --yes`)"])


def bulk_load(driver: Driver, database: str, data: GraphData, server: LocalServer, *,
              progress: bool = True, work_dir: Path | None = None,
              timings: dict[str, float] | None = None) -> WriteSummary:
    """Write ``data`` into the empty ``database`` of ``server`` with the offline importer, then
    apply the schema. The server is stopped during the import and running afterwards.

    Args:
        work_dir: where the CSV files go (a temporary folder inside it, removed afterwards);
            default: the server's home, on the same disk as its data.
        timings: filled with the seconds of each step (``csv``, ``stop``, ``import``,
            ``start``, ``constraints``).

    Whatever happens (the importer fails, Ctrl-C) the server runs again afterwards, with the
    schema applied; a failed or interrupted import leaves the database empty.

    Raises:
        IngestError: the database is not empty, the server does not run, or the importer failed
            (then the database is empty again, with the schema applied).
    """
    check_bulk_target(driver, database, server)
    started = time.perf_counter()
    summary = WriteSummary()
    timings = timings if timings is not None else {}
    clock = [started]

    def lap(step: str) -> None:
        now = time.perf_counter()
        timings[step] = now - clock[0]
        clock[0] = now

    with progress_bar("rows", disable=not progress) as bar, \
            tempfile.TemporaryDirectory(prefix="bulk-", dir=work_dir or server.home) as tmp:
        server.begin_import(database, Path(tmp))
        task = None
        try:
            files = write_import_files(data, Path(tmp), bar)
            lap("csv")
            task = bar.add_task("import: stop server", total=100, rate=False)  # a percentage
            server.stop()
            server.import_stage("import")  # from here on the store may be half-replaced
            lap("stop")
            try:
                run_import(server, files, database, lambda text, done: bar.update(
                    task, description=f"import: {text}"[:20], completed=done))
            except BaseException:  # the importer failed, or Ctrl-C: no half-written store
                server.remove_database_files(database)
                raise
            server.import_stage("imported")
            lap("import")
        finally:  # whatever happened: the server runs again, with the schema
            if server.pid() is None:
                if task is not None:
                    bar.update(task, description="import: start server")
                server.start()
                lap("start")
            renew_bookmarks(driver, database)
            apply_schema(driver, database)
            server.end_import()
        lap("constraints")
        bar.update(task, description="import", completed=100)
    summary.nodes_created = sum(files.node_rows.values())
    summary.relationships_created = sum(files.relationship_rows.values())
    summary.rows = summary.nodes_created + summary.relationships_created
    summary.by_step = {**files.node_rows, **files.relationship_rows}
    summary.seconds = time.perf_counter() - started
    return summary


# -- the importer's CSV files ---------------------------------------------------------------------
def write_import_files(data: GraphData, folder: Path, progress: Progress | None = None) -> ImportFiles:
    """Write ``data`` as the importer's CSV files into ``folder``.

    Node files have the header ``id:ID(<Label>),<prop>:<type>,...`` (one id space per label, as
    ids are unique per label only); relationship files ``:START_ID(<Src>),:END_ID(<Dst>),...``.
    Rows repeating a node id of a label, or a relationship's (type, endpoints), are combined as
    repeated online upserts (``SET n += props``) combine them: later non-missing values win.
    The files are owner-only (0600, :func:`mmkg.files.owner_only`): they hold the catalog.
    """
    with owner_only():
        return _write_import_files(data, folder, progress)


def _write_import_files(data: GraphData, folder: Path, progress: Progress | None) -> ImportFiles:
    files = ImportFiles(folder)
    nodes = _combine([(s.label.value, s.frame) for s in data.nodes], ["id"])
    rels = _combine([((_rel_type(s.rel_type), s.src.value, s.dst.value), s.frame)
                     for s in data.relationships], ["src", "dst"])
    total = (sum(len(f) for f in nodes.values()) + sum(len(f) for f in rels.values())
             + 2 * sum(len(f.track_ids) for f in data.features))
    task = progress.add_task("write CSV", total=total) if progress is not None else None

    def advance(n: int) -> None:
        if progress is not None:
            progress.advance(task, n)

    for i, (label, frame) in enumerate(nodes.items()):
        path = folder / f"nodes-{i}.csv"
        files.multiline |= _write_csv(path, {f"id:ID({label})": frame["id"]},
                                      frame.drop(columns="id"))
        files.nodes.append((label, path))
        files.node_rows[label] = len(frame)
        advance(len(frame))
    for i, ((rel_type, src, dst), frame) in enumerate(rels.items()):
        path = folder / f"rels-{i}.csv"
        files.multiline |= _write_csv(path, {f":START_ID({src})": frame["src"],
                                             f":END_ID({dst})": frame["dst"]},
                                      frame.drop(columns=["src", "dst"]))
        files.relationships.append((rel_type, path))
        files.relationship_rows[rel_type] = files.relationship_rows.get(rel_type, 0) + len(frame)
        advance(len(frame))
    for i, fs in enumerate(data.features):
        nodes_path, rels_path = folder / f"features-{i}.csv", folder / f"has-feature-{i}.csv"
        _write_feature_set(fs, nodes_path, rels_path)
        files.nodes.append((f"{Label.FEATURE.value}:{fs.kind.value}", nodes_path))
        files.relationships.append((RelType.HAS_FEATURE.value, rels_path))
        key = f"{Label.FEATURE.value}:{fs.kind.value}"
        files.node_rows[key] = files.node_rows.get(key, 0) + len(fs.track_ids)
        has = RelType.HAS_FEATURE.value
        files.relationship_rows[has] = files.relationship_rows.get(has, 0) + len(fs.track_ids)
        advance(2 * len(fs.track_ids))
    return files


def _rel_type(name: str) -> str:
    try:
        return RelType(name).value
    except ValueError:
        return kg_relation_type(name)


def _combine(sets: list[tuple[object, pd.DataFrame]], keys: list[str]) -> dict[object, pd.DataFrame]:
    """Frames with the same name concatenated; rows repeating ``keys`` folded into one (the
    last non-missing value of each column wins, as repeated ``SET n += props`` would)."""
    grouped: dict[object, list[pd.DataFrame]] = {}
    for name, frame in sets:
        if len(frame):
            grouped.setdefault(name, []).append(frame)
    out = {}
    for name, frames in grouped.items():
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if frame.duplicated(keys).any():
            frame = frame.groupby(keys, sort=False, as_index=False).last()
            frame = frame.astype(object).where(frame.notna(), None)
        out[name] = frame
    return out


def _write_csv(path: Path, ids: dict[str, pd.Series], props: pd.DataFrame) -> bool:
    """Write id columns (quoted strings) and typed property columns; True when a string cell
    holds a line break."""
    header, cells, multiline = [], [], False
    for name, column in ids.items():
        header.append(name)
        text, breaks = _quoted(column)
        cells.append(text)
        multiline |= breaks
    for name in props.columns:
        typed = _typed_cells(props[name])
        if typed is None:  # no value at all: nothing to set
            continue
        kind, text, breaks = typed
        header.append(f"{name}:{kind}")
        cells.append(text)
        multiline |= breaks
    lines = cells[0].str.cat(cells[1:], sep=",") if len(cells) > 1 else cells[0]
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(header) + "\n")
        for start in range(0, len(lines), 200_000):
            handle.write("\n".join(lines.iloc[start:start + 200_000].tolist()) + "\n")
    return multiline


def _quoted(values: pd.Series) -> tuple[pd.Series, bool]:
    text = values.astype(str).reset_index(drop=True)
    quoted = '"' + text.str.replace('"', '""', regex=False) + '"'
    return quoted, bool(text.str.contains("[\r\n]", regex=True).any())


def _typed_cells(values: pd.Series) -> tuple[str, pd.Series, bool] | None:
    """(importer type, cells) of a property column of Python objects, ``None`` = missing."""
    values = values.reset_index(drop=True)
    present = values.notna().to_numpy()
    if not present.any():
        return None
    sample = values[present]
    kinds = {type(v) for v in sample.iloc[:1000]}
    first = sample.iloc[0]
    if isinstance(first, (bool, np.bool_)):
        kind, text, breaks = "boolean", sample.map(lambda v: "true" if v else "false"), False
    elif isinstance(first, (int, np.integer)):
        kind, text, breaks = "long", sample.map(lambda v: str(int(v))), False
    elif isinstance(first, (float, np.floating)):
        kind, text, breaks = "double", sample.map(lambda v: repr(float(v))), False
    elif isinstance(first, str):
        kind = "string"
        text, breaks = _quoted(sample)
        text.index = sample.index
    else:
        raise TypeError(f"cannot bulk-import property values of type {sorted(map(str, kinds))}")
    cells = pd.Series("", index=values.index, dtype=object)
    cells[present] = text.to_numpy()
    return kind, cells, breaks


def _write_feature_set(fs: FeatureSet, nodes_path: Path, rels_path: Path) -> None:
    """Feature nodes (``id, name, dim, vector, extractor, version, source``, as
    :func:`mmkg.ingest.writers.write_feature_sets` sets them) and their ``HAS_FEATURE`` rows."""
    ids = [feature_id(t, fs.name) for t in fs.track_ids]
    fixed = ",".join([_quote(fs.name), str(fs.dim), "{vector}", _quote(fs.extractor),
                      _quote(fs.version), _quote(fs.source)])
    vectors = np.asarray(fs.vectors, dtype=np.float32).astype(np.float64)
    with nodes_path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(f"id:ID({Label.FEATURE.value}),name:string,dim:long,vector:double[],"
                     "extractor:string,version:string,source:string\n")
        for fid, vector in zip(ids, vectors.tolist()):
            handle.write(_quote(fid) + "," + fixed.replace("{vector}", ";".join(map(repr, vector)))
                         + "\n")
    with rels_path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(f":START_ID({Label.TRACK.value}),:END_ID({Label.FEATURE.value})\n")
        handle.writelines(f"{_quote(t)},{_quote(f)}\n" for t, f in zip(fs.track_ids, ids))


def _quote(text: str) -> str:
    return '"' + str(text).replace('"', '""') + '"'


# -- running the importer -------------------------------------------------------------------------
def import_command(server: LocalServer, files: ImportFiles, database: str) -> list[str]:
    """The ``neo4j-admin database import full`` command line for ``files`` (run with
    ``NEO4J_HOME``/``NEO4J_CONF`` of ``server``; heap = the server's heap, off-heap memory =
    the server's page cache size; ``--verbose``, so that a failure prints its cause)."""
    cfg = server.settings.neo4j
    lib, _ = server.install()
    # the database first: --nodes/--relationships take every following non-option as a file
    cmd = [java_executable(), f"-Xmx{cfg.heap}", "-cp", f"{lib}/*", ADMIN_TOOL, "database", "import", "full",
           database, "--overwrite-destination=true", "--bad-tolerance=0", "--skip-bad-relationships=false",
           "--skip-duplicate-nodes=false", f"--max-off-heap-memory={cfg.pagecache}",
           f"--report-file={files.folder / 'import.report'}", "--verbose"]
    cmd += [f"--nodes={labels}={path}" for labels, path in files.nodes]
    cmd += [f"--relationships={rel}={path}" for rel, path in files.relationships]
    if files.multiline:
        cmd.append("--multiline-fields=true")
    return cmd


def run_import(server: LocalServer, files: ImportFiles, database: str,
               on_progress=lambda text, done: None) -> None:
    """Run the importer on the (stopped) ``server``'s files; ``on_progress(phase, percent)``
    follows its phases (node import, relationship import, linking, post-processing).

    Raises:
        IngestError: the importer failed (its last lines in the message).
    """
    server.write_conf()
    env = {**os.environ, "NEO4J_HOME": str(server.home), "NEO4J_CONF": str(server.conf_dir)}
    log = files.folder / "import.log"
    tail: deque[str] = deque(maxlen=200)
    phase, phases, name = 1, 4, "starting"
    with log.open("w") as handle, _process(import_command(server, files, database), env) as proc:
        for line in proc.stdout:
            handle.write(line)
            tail.append(line.rstrip())
            if m := _PHASE.match(line):
                phase, phases, name = int(m.group(1)), int(m.group(2)), m.group(3)
                on_progress(name, 100 * (phase - 1) / phases)
            elif m := _PERCENT.search(line):
                on_progress(name, 100 * (phase - 1 + int(m.group(1)) / 100) / phases)
        code = proc.wait()
    if code != 0:
        raise IngestError([f"the Neo4j importer failed (exit {code}): {import_failure(tail)}; "
                           "the database is empty again"])


def import_failure(lines: Iterable[str]) -> str:
    """The importer's own reason from its last output ``lines``: the message of the innermost
    ``Caused by:`` of its ``--verbose`` stack trace, Java class names left out (``Weird input
    data, no newline character in the whole buffer 4194304, ...``); else its last line that is
    neither a stack frame nor a progress bar."""
    lines = [line.strip() for line in lines]
    causes = [line for line in lines if line.startswith("Caused by: ")]
    if causes:
        return " ".join(_JAVA_CLASS.sub("", causes[-1][len("Caused by: "):]).split())
    return " ".join(next((t for t in reversed(lines) if t and not t.startswith("at ")
                          and not t.startswith("...") and ".........." not in t),
                         "no output").split())


def _dies_with(parent: int) -> Callable[[], None]:
    """A ``preexec_fn`` that has the kernel kill the child when ``parent`` (this ``mmkg``) dies,
    a ``kill -9`` included (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``): an orphaned importer
    would go on replacing the store after its ``mmkg`` is gone. A parent already gone ends the
    child at once."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork

    def arm() -> None:
        if prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0 or os.getppid() != parent:
            os._exit(1)

    return arm


@contextlib.contextmanager
def _process(cmd: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, stdin=subprocess.DEVNULL, preexec_fn=_dies_with(os.getpid()))
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
