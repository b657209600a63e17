"""Ingestion end to end: read → validate everything → (report rejects) → write → features.

Nothing is written unless every row is valid, or ``skip_invalid`` is set (then only valid rows,
and rows not depending on rejected ones, are written, and the rejects go to a CSV report).
Writing is idempotent, so re-running the same command after a crash completes the graph exactly.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from neo4j import Driver
from rich.table import Table as RichTable

from mmkg.config import BATCH, MEDIA, MediaSettings
from mmkg.errors import IngestError
from mmkg.graph import load_query, read_named, read_rows
from mmkg.graph.schema import apply_schema
from mmkg.ingest.bulk import bulk_load, check_bulk_target
from mmkg.ingest.graphdata import GraphData
from mmkg.ingest.readers import FORMATS
from mmkg.ingest.validate import Problem, Validator
from mmkg.ingest.writers import write_graph
from mmkg.progress import progress_bar
from mmkg.schema import NON_KG_RELS, Label, RelType
from mmkg.terminal import plain

if TYPE_CHECKING:
    from mmkg.server.local import LocalServer

log = logging.getLogger(__name__)

DEFAULT_REJECT_REPORT = Path("ingest-rejects.csv")


@dataclass
class IngestSummary:
    """What one ingestion did (or, with ``dry_run``, would do)."""

    path: Path
    format: str
    dry_run: bool
    nodes: dict[str, int] = field(default_factory=dict)
    """Rows per label (``Feature:Audio`` for feature nodes), created or updated."""
    relationships: dict[str, int] = field(default_factory=dict)
    """Rows per relationship type, created or updated."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Rows left out by the format's own rules (e.g. KGCN drops items without entity)."""
    columns_left_out: dict[str, str] = field(default_factory=dict)
    """Input columns that nothing holds (``GraphData.columns_left_out``), with why."""
    merged: dict[str, int] = field(default_factory=dict)
    """Rows left out because they repeat an earlier row (exactly, or resolved by
    ``on_conflict``), by ``"<file>: <what>"``."""
    rejected: int = 0
    """Rows rejected by validation (``skip_invalid``), cascaded rejects included."""
    report: Path | None = None
    nodes_created: int = 0
    relationships_created: int = 0
    relationships_replaced: int = 0
    """A track's artist, album or genre link (an album's artist link) that a new value moved."""
    bulk: bool = False
    """Written by Neo4j's offline importer (``--bulk``), not by the online writers."""
    plays_lowered: int = 0
    """Stored listens whose ``plays`` the file's sums took down (``--on-conflict sum``)."""
    read_seconds: float = 0.0
    write_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.nodes.values()) + sum(self.relationships.values())

    @property
    def seconds(self) -> float:
        return self.read_seconds + self.write_seconds

    @property
    def rows_per_second(self) -> float:
        """Rows written per second of writing (0 for a dry run)."""
        return self.rows / self.write_seconds if self.write_seconds else 0.0

    def to_table(self) -> RichTable:
        """The summary as a rich table (what ``mmkg ingest`` prints), every cell :func:`plain`."""
        verb = "would write" if self.dry_run else "bulk-imported" if self.bulk else "written"
        where = self.path.resolve() if self.path.name in ("", "..") else self.path  # ".": which one?
        table = RichTable(title=plain(f"{self.format} {where} ({verb})"))

        def add(*cells: object) -> None:  # names from data: no markup, no control characters
            table.add_row(*map(plain, cells))

        table.add_column("kind")
        table.add_column("name")
        table.add_column("rows", justify="right")
        for name, n in sorted(self.nodes.items()):
            add("nodes", name, f"{n:,}")
        kg = {k: n for k, n in self.relationships.items() if k not in NON_KG_RELS}
        for name, n in sorted(self.relationships.items()):
            if name not in kg:
                add("relationships", name, f"{n:,}")
        if kg:
            add("relationships", f"KG relations ({len(kg)} types)", f"{sum(kg.values()):,}")
        for reason, n in sorted(self.dropped.items()):
            add("dropped", reason, f"{n:,}")
        for column, why in sorted(self.columns_left_out.items()):
            add("left out", f"column {column}: {why}", "")
        for reason, n in sorted(self.merged.items()):
            add("merged", reason, f"{n:,}")
        if self.rejected:
            add("rejected", str(self.report or ""), f"{self.rejected:,}")
        if not self.dry_run:
            add("created", "nodes / relationships",
                          f"{self.nodes_created:,} / {self.relationships_created:,}")
            if self.plays_lowered:
                add("lowered", "plays of stored listens (the file's sums replace them)",
                    f"{self.plays_lowered:,}")
            if self.relationships_replaced:
                add("replaced", "artist, album or genre links (a new value)",
                              f"{self.relationships_replaced:,}")
        table.caption = (f"read+validate {self.read_seconds:.1f} s, write {self.write_seconds:.1f} s"
                         + (f", {self.rows_per_second:,.0f} rows/s" if self.write_seconds else ""))
        return table


def read_dataset(path: Path, fmt: str, *, rating_threshold: float | None = None,
                 on_conflict: str = "error", media: MediaSettings = MEDIA) -> tuple[GraphData, Validator]:
    """Read and validate the dataset at ``path`` with the registered format ``fmt`` (media files
    within the ``media`` limits); return its graph data and the validator (``on_conflict``:
    :data:`mmkg.ingest.validate.ON_CONFLICT`).

    Raises:
        ValueError: unknown format or policy, or an option the format does not have.
        ConfigError: ``media.root`` is set and is not a folder.
    """
    media.check_root()
    reader = FORMATS.get(fmt)
    validator = Validator(on_conflict=on_conflict)
    path = Path(path)
    if not path.is_dir():
        validator.file_problem(str(path), "not a folder: expected a dataset folder")
        return GraphData(), validator
    return reader(path, validator, media, rating_threshold=rating_threshold), validator


def _lowered_plays(driver: Driver, database: str, data: GraphData, batch_size: int) -> int:
    """How many stored listens the interactions of ``data`` lower (``--on-conflict sum``: the
    file's sums replace the stored ``plays``), said in one warning with examples before they are
    written (``cypher/ingest_lowered_plays.cypher``)."""
    lowered, examples = 0, []
    query = load_query("ingest_lowered_plays")
    for rels in data.relationships:
        if rels.rel_type != RelType.LISTENED or "plays" not in rels.frame.columns:
            continue
        frame = rels.frame[["src", "dst", "plays"]].astype({"plays": "int64"})
        for start in range(0, len(frame), batch_size):
            rows = frame.iloc[start:start + batch_size].to_dict("records")
            [found] = read_rows(driver, database, query, rows=rows)
            lowered += found["lowered"]
            examples += found["examples"][:3 - len(examples)]
    if lowered:
        shown = ", ".join(f"{user!r} → {track!r} {before:,} → {after:,}" for user, track, before, after in examples)
        log.warning("%d stored listen(s) get fewer plays than they hold (%s%s): --on-conflict sum "
                    "stores the file's own sum, so the file must hold the whole log, not the plays "
                    "since the last ingest", lowered, shown, " …" if lowered > len(examples) else "")
    return lowered


def check_feature_dimensions(driver: Driver, database: str, data: GraphData) -> None:
    """Every feature set of ``data`` has the dimension already stored in ``database`` for its
    name (``cypher/feature_dims.cypher``): mixed dimensions would only fail at export.

    Raises:
        IngestError: one ``source:1:*`` problem per feature set whose dimension differs.
    """
    if not data.features:
        return
    stored = {r["name"]: r["dim"] for r in read_named(
        driver, database, "feature_dims", names=[f.name for f in data.features])}
    problems = [
        f"{fs.source}:1:*: feature {fs.name!r} has dimension {fs.dim} here but "
        f"{stored[fs.name]} in the database: expected {stored[fs.name]} numbers per vector "
        "(or delete the stored features of that name first)"
        for fs in data.features if fs.name in stored and stored[fs.name] != fs.dim]
    if problems:
        raise IngestError(problems)


def check_catalog_roots(driver: Driver, database: str, data: GraphData) -> None:
    """A catalog is named after its folder (``Catalog.id``), and its tracks' media paths are
    relative to its ``root``, which an ingest from another folder moves (a catalog that moved).
    Refuse the move while the stored root is still a folder: then this is another catalog of the
    same name (a second ``new_releases``), and every track of the first would read its media
    from this folder (``cypher/catalog_roots.cypher``).

    Raises:
        IngestError: one problem per such catalog, naming both folders.
    """
    roots = {row.id: row.root for nodes in data.nodes if nodes.label is Label.CATALOG
             for row in nodes.frame.itertuples()}
    if not roots:
        return
    problems = [
        f"catalog {r['id']!r} was ingested from {r['root']}, which still exists; {roots[r['id']]} "
        "has the same folder name, and the tracks of both would read their media from here: "
        "rename this folder (a catalog is named after its folder), or, if the catalog moved, "
        "move the old folder away first"
        for r in read_named(driver, database, "catalog_roots", ids=sorted(roots))
        if r["root"] != roots[r["id"]] and Path(r["root"]).is_dir()]
    if problems:
        raise IngestError(problems)


def write_reject_report(path: Path, problems: list[Problem]) -> None:
    """CSV with one row per problem: ``file, line, column, message, cascaded``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["file", "line", "column", "message", "cascaded"])
        for p in sorted(problems, key=lambda p: (p.file, p.line, p.column)):
            out.writerow([p.file, p.line, p.column, p.message, str(p.cascaded).lower()])


def ingest(
    driver: Driver | None,
    database: str,
    path: Path,
    *,
    fmt: str = "catalog",
    dry_run: bool = False,
    skip_invalid: bool = False,
    reject_report: Path | None = None,
    batch_size: int = BATCH.ingest,
    feature_rows: int = BATCH.feature_rows,
    feature_batch: int = BATCH.features,
    rating_threshold: float | None = None,
    on_conflict: str = "error",
    bulk: "LocalServer | None" = None,
    features: bool | None = None,
    media: MediaSettings = MEDIA,
    progress: bool = True,
) -> IngestSummary:
    """Validate the dataset at ``path`` and write it to ``database`` (not with ``dry_run``).

    Args:
        driver: an open driver; may be ``None`` for a dry run.
        fmt: a registered catalog format (:data:`mmkg.ingest.readers.FORMATS`).
        skip_invalid: write valid rows only, report rejects to ``reject_report``
            (default ``./ingest-rejects.csv``). Problems with whole files still stop everything.
        batch_size: node/relationship rows per write transaction; ``feature_rows`` caps feature
            vectors per transaction, ``feature_batch`` is tracks per feature-extraction batch.
        rating_threshold: an option of the ``mkgcn`` format.
        on_conflict: what to do with interactions that repeat a (user, track) pair with
            different values (:data:`mmkg.ingest.validate.ON_CONFLICT`); exact repeats of any
            row are always merged and counted in ``IngestSummary.merged``.
        bulk: load the empty database of this local server with Neo4j's offline importer
            (:mod:`mmkg.ingest.bulk`; the server is restarted) instead of the online writers.
        features: after writing, compute missing features from media files (default: on for
            formats that reference media, such as ``catalog``).
        media: the limits media files are checked and read under.

    Raises:
        IngestError: with every ``file:line:column: message`` problem; nothing was written.
            With ``bulk``: also when the database is not empty or the importer failed.
        ValueError: unknown format, or an option the format does not have.
    """
    started = time.perf_counter()
    if bulk is not None and not dry_run:
        if driver is None:
            raise ValueError("a driver is needed unless dry_run")
        check_bulk_target(driver, database, bulk)  # before a long validation
    data, validator = read_dataset(path, fmt, rating_threshold=rating_threshold,
                                   on_conflict=on_conflict, media=media)
    summary = IngestSummary(Path(path), fmt, dry_run, nodes=data.node_counts(),
                            relationships=data.relationship_counts(), dropped=dict(data.dropped),
                            columns_left_out=dict(data.columns_left_out), merged=dict(validator.merged))
    if validator.problems and (reject_report or skip_invalid):
        summary.report = reject_report or DEFAULT_REJECT_REPORT
        write_reject_report(summary.report, validator.problems)
    if validator.fatal:
        raise IngestError([str(p) for p in validator.fatal],
                          f"{len(validator.fatal)} file problem(s) found; nothing was written")
    if validator.problems and not skip_invalid:
        raise IngestError([str(p) for p in validator.causes])
    summary.rejected = len({(p.file, p.line) for p in validator.problems})
    summary.read_seconds = time.perf_counter() - started
    if dry_run:
        return summary
    if driver is None:
        raise ValueError("a driver is needed unless dry_run")

    started = time.perf_counter()
    check_feature_dimensions(driver, database, data)
    check_catalog_roots(driver, database, data)
    if on_conflict == "sum":
        summary.plays_lowered = _lowered_plays(driver, database, data, batch_size)
    if bulk is not None:
        written = bulk_load(driver, database, data, bulk, progress=progress)
        summary.bulk = True
    else:
        apply_schema(driver, database)
        with progress_bar("rows") if progress else contextlib.nullcontext() as bar:
            written = write_graph(driver, database, data, batch_size=batch_size,
                                  feature_rows=feature_rows, progress=bar or False)
    if features if features is not None else FORMATS.get(fmt).media:
        from mmkg.ingest.features.compute import compute_missing_features

        compute_missing_features(driver, database, batch_size=feature_batch,
                                 feature_rows=feature_rows, progress=progress, settings=media)
    summary.nodes_created = written.nodes_created
    summary.relationships_created = written.relationships_created
    summary.relationships_replaced = written.relationships_deleted
    summary.write_seconds = time.perf_counter() - started
    return summary
