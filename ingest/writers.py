"""Write validated graph data to Neo4j: idempotent batches keyed on constrained ids, nodes first.

Every query keys nodes on their constrained ``id`` (``cypher/schema.cypher``), so a batch can be
retried and a whole run repeated: a second run, or a re-run after a run was killed midway, leaves
exactly the graph one uninterrupted run leaves. Labels and relationship types cannot be Cypher
parameters; they are put into the ``cypher/`` templates by :func:`mmkg.graph.render` (which
backtick-quotes them) only after validation by :mod:`mmkg.schema`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
from neo4j import Driver
from rich.progress import Progress

from mmkg.config import BATCH
from mmkg.graph import WriteSummary, render, run_batches
from mmkg.ingest.featureset import FeatureSet
from mmkg.ingest.graphdata import GraphData, NodeSet, RelSet
from mmkg.progress import progress_bar
from mmkg.schema import Modality, RelType, feature_id, kg_relation_type


class RowView(Sequence):
    """Rows of a frame as ``{key columns..., "props": {...}}`` dicts, built one batch at a time.

    ``keys`` maps row keys to frame columns; every other column is a property, left out of
    ``props`` where it is ``None`` or NaN (no ``props`` key when there are no property columns,
    unless ``always_props``). Building dicts lazily keeps memory flat for 1M rows.
    """

    def __init__(self, frame: pd.DataFrame, keys: dict[str, str], *, always_props: bool = False) -> None:
        self._frame = frame
        self._keys = keys
        self._props = [c for c in frame.columns if c not in keys.values()]
        self._with_props = always_props or bool(self._props)

    def __len__(self) -> int:
        return len(self._frame)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        part = self._frame.iloc[index]
        keys = {k: part[c].tolist() for k, c in self._keys.items()}
        props = [part[c].tolist() for c in self._props]
        rows = []
        for i in range(len(part)):
            row: dict = {k: v[i] for k, v in keys.items()}
            if self._with_props:
                row["props"] = {name: col[i] for name, col in zip(self._props, props)
                                if col[i] is not None and col[i] == col[i]}
            rows.append(row)
        return rows


@contextlib.contextmanager
def _progress(progress: bool | Progress, description: str, total: int
              ) -> Iterator[Callable[[int], None] | None]:
    """An ``on_batch`` callback advancing a task of ``progress`` (a new display when ``True``)."""
    if isinstance(progress, Progress):
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
    elif progress:
        with progress_bar("rows") as p:
            task = p.add_task(description, total=total)
            yield lambda n: p.advance(task, n)
    else:
        yield None


def write_nodes(driver: Driver, database: str, nodes: NodeSet, *,
                batch_size: int = BATCH.ingest, progress: bool | Progress = True,
                on_batch: Callable[[int], None] | None = None) -> WriteSummary:
    """Upsert ``(:label {id})`` and set its properties, for every row of ``nodes``.

    ``on_batch(n)`` (instead of ``progress``) is called after each committed batch.
    """
    query = render("upsert_nodes", label=nodes.label)
    rows = RowView(nodes.frame, {"id": "id"}, always_props=True)
    with _progress(progress if on_batch is None else False, f"nodes :{nodes.label.value}",
                   len(rows)) as advance:
        return run_batches(driver, database, query, rows, batch_size=batch_size,
                           on_batch=on_batch or advance)


def write_relationships(driver: Driver, database: str, rels: RelSet, *,
                        batch_size: int = BATCH.ingest, progress: bool | Progress = True,
                        on_batch: Callable[[int], None] | None = None) -> WriteSummary:
    """Find both endpoints by id and upsert ``(src)-[:rel_type]->(dst)`` with its properties
    (:attr:`RelSet.replaces`: and delete the ``src``'s other such relationships to ``dst`` nodes).

    Relationships without properties use a query without ``SET`` (no Eager step in the plan).

    Raises:
        SchemaError: ``rels.rel_type`` is neither a :class:`RelType` nor a valid KG relation name.
    """
    if rels.replaces and len(rels.frame.columns) > 2:
        raise ValueError("a replacing relationship set has no properties")
    name = ("merge_relationships_replacing" if rels.replaces else
            "merge_relationships_props" if len(rels.frame.columns) > 2 else "merge_relationships")
    query = render(name, src=rels.src, dst=rels.dst, rel=_rel_type(rels.rel_type))
    rows = RowView(rels.frame, {"src": "src", "dst": "dst"})
    with _progress(progress if on_batch is None else False, f"rels :{rels.rel_type}",
                   len(rows)) as advance:
        return run_batches(driver, database, query, rows, batch_size=batch_size,
                           on_batch=on_batch or advance)


def write_feature_sets(driver: Driver, database: str, sets: list[FeatureSet], *,
                       batch_size: int = BATCH.feature_rows, progress: bool | Progress = True,
                       on_batch: Callable[[int], None] | None = None) -> WriteSummary:
    """Upsert ``(:Track)-[:HAS_FEATURE]->(:Feature:<kind> {id: feature_id(track, name), name,
    dim, vector, extractor, version, source})`` for every vector of every set, ``batch_size``
    rows per transaction; a feature whose extractor summarises its vectors also gets those
    readable scalars (``tempo_bpm``, ``dominant_colour``, ...: :attr:`FeatureSpec.summarise`).

    Tracks must exist already (rows naming a missing track write nothing). Re-running replaces
    the vectors and metadata of features with the same ``(track, name)``.
    """
    total = WriteSummary()
    n_rows = sum(len(fs.track_ids) for fs in sets)
    with _progress(progress if on_batch is None else False, "features", n_rows) as advance:
        for fs in sets:
            vectors = np.asarray(fs.vectors, dtype=np.float32)
            if vectors.ndim != 2 or len(vectors) != len(fs.track_ids):
                raise ValueError(f"feature set {fs.name!r}: expected vectors of shape "
                                 f"[{len(fs.track_ids)}, dim], got {vectors.shape}")
            props = {"name": fs.name, "dim": fs.dim, "extractor": fs.extractor,
                     "version": fs.version, "source": fs.source}
            query = render("merge_features", kind=Modality(fs.kind))
            rows = _FeatureRows(fs.track_ids, fs.name, vectors, fs.summaries())
            total.add(run_batches(driver, database, query, rows,
                                  batch_size=batch_size, params={"props": props},
                                  on_batch=on_batch or advance))
    return total


def _rel_type(name: str) -> RelType | str:
    """A fixed :class:`RelType`, or a KG relation name validated by
    :func:`mmkg.schema.kg_relation_type` (raises ``SchemaError``)."""
    try:
        return RelType(name)
    except ValueError:
        return kg_relation_type(name)


class _FeatureRows(Sequence):
    """Rows ``{track, id, vector, summary}`` of one feature set, built one batch at a time
    (``summary``: the extractor's readable scalars of the vector, :meth:`FeatureSet.summaries`)."""

    def __init__(self, track_ids: list[str], name: str, vectors: np.ndarray,
                 summaries: list[dict]) -> None:
        self._ids, self._name, self._vectors = track_ids, name, vectors
        self._summaries = summaries

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index:index + 1][0]
        ids, vectors, summaries = self._ids[index], self._vectors[index], self._summaries[index]
        return [{"track": t, "id": feature_id(t, self._name), "vector": v, "summary": summary}
                for t, v, summary in zip(ids, vectors.astype(np.float64).tolist(), summaries)]


def write_graph(driver: Driver, database: str, data: GraphData, *,
                batch_size: int = BATCH.ingest, feature_rows: int = BATCH.feature_rows,
                progress: bool | Progress = True) -> WriteSummary:
    """Write ``data`` in the order nodes, relationships, features (one progress task per phase),
    ``batch_size`` rows per transaction (``feature_rows`` for feature vectors); return the summed
    counters, with rows per label / relationship type in ``by_step``."""
    total = WriteSummary()
    phases = [("nodes", data.nodes), ("relationships", data.relationships)]
    with contextlib.ExitStack() as stack:
        for phase, sets in phases:
            advance = stack.enter_context(_progress(progress, phase, sum(len(s) for s in sets)))
            for s in sets:
                if phase == "nodes":
                    part = write_nodes(driver, database, s, batch_size=batch_size, on_batch=advance)
                    key = s.label.value
                else:
                    part = write_relationships(driver, database, s, batch_size=batch_size,
                                               on_batch=advance)
                    key = s.rel_type
                part.by_step[key] = part.rows
                total.add(part)
        if data.features:
            advance = stack.enter_context(_progress(
                progress, "features", sum(len(f.track_ids) for f in data.features)))
            total.add(write_feature_sets(driver, database, data.features, batch_size=feature_rows,
                                         on_batch=advance))
    return total
