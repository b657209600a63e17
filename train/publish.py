"""Publish a training run to Neo4j: embeddings, exact top-K, a ``:Model`` node, vector indexes.

Input: a training output folder (``docs/contracts.md`` §4) holding ``embeddings.pt``
(``track_ids``, ``user_ids``, ``track`` [n_tracks, d], ``user`` [n_users, d], ``topk`` =
``{"items": [n_users, K] indices into track_ids, "scores": [n_users, K]}``), ``config.json``,
``metrics.json`` and the export manifest (``export/manifest.json``, or the folder / file named by
``config.json``'s ``"export"`` key).

Output::

    (:Model {id, created_at, params, metrics, dataset_manifest, dimension, k, current, complete})
    (:User)-[:RECOMMENDED {score, rank, model}]->(:Track)      rank 1 = best, model = Model.id
    Track.embedding, User.embedding : LIST<FLOAT>              cosine vector indexes on both

Consistency design (one model version is published at a time):

1. Vectors are staged in batches in ``embedding_next``, which no reader looks at.
2. ``MERGE (:Model {id})`` with ``current = false``. The id is ``<run folder>-<sha256 of
   embeddings.pt>[:8]``, so re-running an interrupted publish resumes the same version.
3. ``RECOMMENDED`` relationships are written in batches tagged ``model = id``. Every reader query
   (``cypher/recommend.cypher``) reads only the relationships of ``(:Model {current: true})``, so
   new ones are invisible while they are written; partial ones of an interrupted run are deleted
   first on a re-run. Then ``complete = true`` (a later re-run of this version skips this step).
4. **The flip** (``cypher/publish_flip.cypher``) is ONE transaction: ``embedding := embedding_next``
   on every staged node (nodes the new model does not cover lose their ``embedding``), the old
   Model gets ``current = false``, the new one ``current = true``. Readers therefore see either all
   old or all new results, and a failure before the flip leaves the previous version untouched.
   The flip copies vectors inside the server (no parameters cross the wire): one property write
   (and vector-index update) per node. ``bench/query.py`` measured 19 s for 100k tracks + 10k
   users x 64 floats on a 2-core box shared with other servers, within a 1 GB heap. Readers are
   not blocked meanwhile; they keep reading the old version until the commit.
5. Pruning: all but the ``keep`` most recent non-current complete versions are deleted
   (relationships in batches of users, then the Model node), and so are incomplete leftovers.

Vector indexes (names from :data:`mmkg.schema.VECTOR_INDEXES`, cosine, dimension = the model's):
created when missing; when an existing one has another dimension it is dropped just before the
flip and re-created right after it. In that window (flip + index population: about 70 s for
110k vectors in the benchmark above, far less on a free machine) ``similar_tracks`` and
``cold_start`` fail with "no such index"; ``recommend`` is unaffected. Concurrent publishes are
not supported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from neo4j import Driver, ManagedTransaction
from neo4j.exceptions import Neo4jError

from mmkg.errors import DatabaseError, PublishError
from mmkg.graph import load_query, run_batches
from mmkg.schema import VECTOR_INDEXES, Label, Prop, quote

log = logging.getLogger(__name__)

#: Called after each committed batch with (step name, rows in the batch); may raise to abort.
StepHook = Callable[[str, int], None]

STEPS = ("track_embeddings", "user_embeddings", "recommendations")
"""Batched steps reported to :data:`StepHook`, in the order they run."""


@dataclass(frozen=True)
class RunOutput:
    """What publish reads from a training output folder, validated."""

    model_id: str
    track_ids: list[str]
    user_ids: list[str]
    track: torch.Tensor
    """[n_tracks, d] float"""
    user: torch.Tensor
    """[n_users, d] float"""
    topk_items: torch.Tensor
    """[n_users, K] long, indices into ``track_ids``; negative = padding"""
    topk_scores: torch.Tensor
    """[n_users, K] float"""
    params: dict
    metrics: dict
    manifest: dict

    @property
    def dimension(self) -> int:
        return int(self.track.shape[1])

    @property
    def k(self) -> int:
        return int(self.topk_items.shape[1])


@dataclass
class PublishSummary:
    """Counts and timings of one publish."""

    model_id: str
    dimension: int = 0
    tracks: int = 0
    users: int = 0
    recommendations: int = 0
    missing_tracks: int = 0
    missing_users: int = 0
    recommendations_reused: bool = False
    """True when a re-run found this version's RECOMMENDED already complete."""
    previous_model: str | None = None
    indexes_created: list[str] = field(default_factory=list)
    pruned_models: list[str] = field(default_factory=list)
    seconds: float = 0.0
    flip_seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        """Written rows (relationships + vectors) per second over the whole publish."""
        rows = self.recommendations + self.tracks + self.users
        return rows / self.seconds if self.seconds else 0.0


def read_run(run_dir: Path, model_id: str | None = None) -> RunOutput:
    """Load and check a training output folder (see the module docstring).

    Raises:
        PublishError: a file is missing or unreadable, or the tensors disagree in shape.
    """
    run_dir = Path(run_dir)
    path = run_dir / "embeddings.pt"
    if not path.is_file():
        raise PublishError(f"{run_dir}: no embeddings.pt (is this a `mmkg train --out` folder?)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        track, user = blob["track"].float(), blob["user"].float()
        items, scores = blob["topk"]["items"].long(), blob["topk"]["scores"].float()
        track_ids = [str(i) for i in blob["track_ids"]]
        user_ids = [str(i) for i in blob["user_ids"]]
    except (KeyError, TypeError, RuntimeError, AttributeError) as e:
        raise PublishError(f"{path}: not a training embeddings file ({e})") from e
    problems = []
    if track.ndim != 2 or track.shape[0] != len(track_ids):
        problems.append(f"track is {tuple(track.shape)}, expected [{len(track_ids)}, d]")
    if user.ndim != 2 or user.shape != (len(user_ids), track.shape[-1]):
        problems.append(f"user is {tuple(user.shape)}, expected [{len(user_ids)}, {track.shape[-1]}]")
    if items.ndim != 2 or items.shape[0] != len(user_ids) or scores.shape != items.shape:
        problems.append(f"topk items {tuple(items.shape)} / scores {tuple(scores.shape)}, "
                        f"expected [{len(user_ids)}, K] both")
    elif items.numel() and int(items.max()) >= len(track_ids):
        problems.append(f"topk items index {int(items.max())} >= {len(track_ids)} tracks")
    if problems:
        raise PublishError(f"{path}: " + "; ".join(problems))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    return RunOutput(
        model_id=model_id or f"{run_dir.resolve().name}-{digest}",
        track_ids=track_ids, user_ids=user_ids, track=track, user=user,
        topk_items=items, topk_scores=scores,
        params=_read_json(run_dir / "config.json"),
        metrics=_read_json(run_dir / "metrics.json"),
        manifest=_read_manifest(run_dir),
    )


def _read_json(path: Path, required: bool = True) -> dict:
    if not path.is_file():
        if required:
            raise PublishError(f"{path.parent}: missing {path.name}")
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise PublishError(f"{path}: unreadable JSON ({e})") from e


def _read_manifest(run_dir: Path) -> dict:
    """``export/manifest.json``, else the folder or file named by ``config.json``'s ``export``."""
    candidates = [run_dir / "export" / "manifest.json"]
    export = _read_json(run_dir / "config.json").get("export")
    if isinstance(export, str):
        where = Path(export) if Path(export).is_absolute() else run_dir / export
        candidates += [where / "manifest.json", where]
    for path in candidates:
        if path.is_file():
            return _read_json(path)
    log.warning("%s: no export manifest found; Model.dataset_manifest will be {}", run_dir)
    return {}


def embedding_rows(ids: list[str], vectors: torch.Tensor) -> list[dict]:
    """``[{id, vector}]`` rows for the staging queries."""
    return [{"id": i, "vector": v} for i, v in zip(ids, vectors.tolist())]


def recommendation_rows(run: RunOutput) -> list[dict]:
    """``[{user, items: [{track, score, rank}]}]``; rank is 1-based in score order, padding dropped."""
    order = torch.argsort(run.topk_scores, dim=1, descending=True, stable=True)
    items = torch.gather(run.topk_items, 1, order).tolist()
    scores = torch.gather(run.topk_scores, 1, order).tolist()
    rows = []
    for user, its, scs in zip(run.user_ids, items, scores):
        kept = [(i, s) for i, s in zip(its, scs) if i >= 0 and s == s]  # s == s: not NaN
        rows.append({"user": user, "items": [
            {"track": run.track_ids[i], "score": s, "rank": rank}
            for rank, (i, s) in enumerate(kept, start=1)
        ]})
    return rows


def vector_index_dimensions(driver: Driver, database: str) -> dict[str, int]:
    """``{index name: vector.dimensions}`` of the vector indexes that exist."""
    records, _, _ = driver.execute_query(
        "SHOW VECTOR INDEXES YIELD name, options RETURN name, options", database_=database
    )
    return {r["name"]: int(r["options"]["indexConfig"]["vector.dimensions"]) for r in records}


def create_vector_index(driver: Driver, database: str, label: Label, dimension: int,
                        timeout_s: float = 300) -> str:
    """Create the cosine vector index on ``label.embedding`` (if missing) and wait until online."""
    name = VECTOR_INDEXES[label]
    driver.execute_query(
        f"CREATE VECTOR INDEX {quote(name)} IF NOT EXISTS FOR (n:{quote(label)}) "
        f"ON n.{quote(Prop.EMBEDDING)} OPTIONS {{indexConfig: {{"
        "`vector.dimensions`: $dimension, `vector.similarity_function`: 'cosine'}}",
        {"dimension": dimension}, database_=database,
    )
    driver.execute_query("CALL db.awaitIndex($name, $timeout)",
                         {"name": name, "timeout": int(timeout_s)}, database_=database)
    return name


def _single(tx: ManagedTransaction, query: str, params: dict) -> dict | None:
    record = tx.run(query, params).single()
    return record.data() if record else None


def _count_batch(tx: ManagedTransaction, query: str, rows: list[dict]) -> int:
    return tx.run(query, rows=rows).single()["n"]


def _write(driver: Driver, database: str, name: str, **params) -> dict | None:
    with driver.session(database=database) as session:
        return session.execute_write(_single, load_query(name), params)


def _autocommit(driver: Driver, database: str, name: str, **params) -> None:
    """Run a ``CALL ... IN TRANSACTIONS`` query (it needs an implicit transaction)."""
    with driver.session(database=database) as session:
        session.run(load_query(name), params).consume()


def _stage(driver: Driver, database: str, query: str, rows: list[dict], step: str,
           batch_size: int, on_batch: Callable[[int], None]) -> int:
    """Run a staging query batch by batch; return how many rows matched a node."""
    found = 0
    with driver.session(database=database) as session:
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            found += session.execute_write(_count_batch, load_query(query), batch)
            on_batch(len(batch))
    log.debug("%s: %d of %d rows matched", step, found, len(rows))
    return found


def publish(
    driver: Driver,
    database: str,
    run_dir: Path,
    *,
    keep: int = 3,
    batch_size: int = 1000,
    progress: bool = True,
    model_id: str | None = None,
    on_step: StepHook | None = None,
) -> PublishSummary:
    """Publish ``run_dir`` as a new current model version (see the module docstring).

    Args:
        keep: previous complete versions to retain (their RECOMMENDED and Model node); older go.
        batch_size: rows per write transaction (users for recommendations, nodes for vectors).
        progress: show a rich progress bar.
        model_id: override the derived ``<run folder>-<hash>`` id.
        on_step: called after every committed batch with (step, rows); an exception it raises
            aborts the publish before the flip, leaving the current version untouched.

    Raises:
        PublishError: the folder is inconsistent, or no node of the run exists in the graph.
        DatabaseError: Neo4j refused a write.
    """
    if keep < 0 or batch_size < 1:
        raise ValueError("keep must be >= 0 and batch_size >= 1")
    started = time.perf_counter()
    run = read_run(Path(run_dir), model_id)
    summary = PublishSummary(model_id=run.model_id, dimension=run.dimension)
    total = {"track_embeddings": len(run.track_ids), "user_embeddings": len(run.user_ids),
             "recommendations": len(run.user_ids)}
    with _Progress(progress, total, on_step) as bar:
        try:
            _autocommit(driver, database, "publish_clear_staging", batchSize=batch_size)
            summary.tracks = _stage(driver, database, "publish_stage_track_embeddings",
                                    embedding_rows(run.track_ids, run.track), "track_embeddings",
                                    batch_size, bar.callback("track_embeddings"))
            summary.users = _stage(driver, database, "publish_stage_user_embeddings",
                                   embedding_rows(run.user_ids, run.user), "user_embeddings",
                                   batch_size, bar.callback("user_embeddings"))
            _check_found(run, summary)
            state = _write(driver, database, "publish_begin", model=run.model_id,
                           params=json.dumps(run.params), metrics=json.dumps(run.metrics),
                           datasetManifest=json.dumps(run.manifest), dimension=run.dimension,
                           k=run.k)
            summary.recommendations_reused = bool(state["complete"])
            if state["complete"]:
                bar.skip("recommendations")
            else:
                _autocommit(driver, database, "publish_delete_recommendations",
                            model=run.model_id, batchSize=batch_size)
                written = run_batches(driver, database, load_query("publish_recommendations"),
                                      recommendation_rows(run), batch_size=batch_size,
                                      params={"model": run.model_id},
                                      on_batch=bar.callback("recommendations"))
                summary.recommendations = written.relationships_created
                _write(driver, database, "publish_complete", model=run.model_id)
        except Neo4jError as e:
            raise DatabaseError(f"publish of {run.model_id} failed: {e.message}") from e
    _flip(driver, database, run, summary)
    summary.pruned_models = prune(driver, database, keep=keep, batch_size=batch_size)
    summary.seconds = time.perf_counter() - started
    log.info("published %s: %d recommendations, %d track and %d user vectors in %.1f s",
             run.model_id, summary.recommendations, summary.tracks, summary.users, summary.seconds)
    return summary


def _check_found(run: RunOutput, summary: PublishSummary) -> None:
    """Refuse a run none of whose tracks or users are in the graph; log partial misses."""
    summary.missing_tracks = len(run.track_ids) - summary.tracks
    summary.missing_users = len(run.user_ids) - summary.users
    if summary.tracks == 0 or summary.users == 0:
        what = "tracks" if summary.tracks == 0 else "users"
        raise PublishError(f"{run.model_id}: none of its {what} exist in the graph; "
                           "was it trained on this database?")
    for what, n in (("tracks", summary.missing_tracks), ("users", summary.missing_users)):
        if n:
            log.warning("%s: %d %s of the run are not in the graph (skipped)", run.model_id, n, what)


def _flip(driver: Driver, database: str, run: RunOutput, summary: PublishSummary) -> None:
    """Swap in the new version; recreate vector indexes whose dimension changed around it."""
    existing = vector_index_dimensions(driver, database)
    stale = [name for name in VECTOR_INDEXES.values()
             if existing.get(name, run.dimension) != run.dimension]
    started = time.perf_counter()
    try:
        for name in stale:
            log.info("vector index %s has dimension %d, model has %d: recreating it",
                     name, existing[name], run.dimension)
            driver.execute_query(f"DROP INDEX {quote(name)} IF EXISTS", database_=database)
        result = _write(driver, database, "publish_flip", model=run.model_id)
        for label, name in VECTOR_INDEXES.items():
            if name not in existing or name in stale:
                create_vector_index(driver, database, label, run.dimension)
                summary.indexes_created.append(name)
    except Neo4jError as e:
        raise DatabaseError(f"publish of {run.model_id} failed at the flip: {e.message}") from e
    if result is None:
        raise PublishError(f"{run.model_id}: Model node vanished or is incomplete at the flip")
    summary.previous_model = result["previous"]
    summary.flip_seconds = time.perf_counter() - started


def prune(driver: Driver, database: str, *, keep: int = 3, batch_size: int = 1000) -> list[str]:
    """Delete all but the ``keep`` newest non-current complete versions; return deleted ids."""
    records, _, _ = driver.execute_query(load_query("publish_prune_candidates"), {"keep": keep},
                                         database_=database)
    deleted = []
    for record in records:
        _autocommit(driver, database, "publish_delete_recommendations",
                    model=record["model"], batchSize=batch_size)
        _write(driver, database, "publish_delete_model", model=record["model"])
        deleted.append(record["model"])
    if deleted:
        log.info("pruned model versions: %s", ", ".join(deleted))
    return deleted


class _Progress:
    """A rich progress bar over the batched steps, which also forwards to the caller's hook."""

    def __init__(self, enabled: bool, total: dict[str, int], hook: StepHook | None) -> None:
        self.hook = hook
        self.total = total
        self.bar = None
        if enabled:
            from rich.progress import Progress

            self.bar = Progress(transient=False)
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> "_Progress":
        if self.bar is not None:
            self.bar.__enter__()
            self.tasks = {step: self.bar.add_task(step.replace("_", " "), total=self.total[step])
                          for step in STEPS}
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def callback(self, step: str) -> Callable[[int], None]:
        def advance(rows: int) -> None:
            if self.bar is not None:
                self.bar.advance(self.tasks[step], rows)
            if self.hook is not None:
                self.hook(step, rows)
        return advance

    def skip(self, step: str) -> None:
        if self.bar is not None:
            self.bar.update(self.tasks[step], completed=self.total[step])
