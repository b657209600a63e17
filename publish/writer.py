"""Publish a training run to Neo4j: embeddings, exact top-K or serving vectors, a ``:Model`` node,
vector indexes.

Input: a training run folder (:class:`~mmkg.train.run_folder.RunFolder`): its ``embeddings.pt``
(vectors and exact top-K), ``config.json``, ``metrics.json``, and the ``manifest.json`` of the
export recorded in its ``model.pt`` (or of the export given explicitly).

Output::

    (:Model {id, created_at, params, metrics, dataset_manifest, dimension, k, current, complete,
             placed, holds_recommended, model_type, test_auc, test_f1, test_recall_at_20,
             test_ndcg_at_20, serve, serving_norm, run_folder, vector_property, track_index,
             user_index, serving_property, serving_index})       the last five on the current one
    (:User)-[:RECOMMENDED {score, rank, model}]->(:Track)      serve = 'topk' only; rank 1 = best
    Track.embedding_a|_b, User.embedding_a|_b : LIST<FLOAT>     cosine vector index on the
                                                               Track one (the User one with
                                                               user_index only)
    Track.serving_a|_b : LIST<FLOAT>                           serve = 'vectors' only; cosine index

Two serving modes (``serve``, :class:`mmkg.schema.Serve`, recorded as ``Model.serve``):
``topk`` writes each user's exact top-K as ``RECOMMENDED`` relationships (O(users × K) writes:
902 of the 1,055 s of a publish at 10M listens); ``vectors`` writes no relationship but each
track's **serving vector** ``[t / M, sqrt(1 - |t|² / M²)]`` (``M`` = the largest track norm,
``Model.serving_norm``) with a cosine index, so that ``cypher/recommend_vectors.cypher`` ranks by
the model's score, the dot product, at query time (the cosine of ``[u, 0]`` with it is
``u · t / (|u| M)``: the maximum-inner-product reduction of Bachrach et al., RecSys 2014), up to
the index's approximation. Only a model scored by a dot product of its published vectors (a
:class:`~mmkg.train.model.base.VectorRecommender`) can be served from vectors.

Consistency design (one model version is published at a time). Every reader query goes through
``(:Model {current: true})``: for its ``RECOMMENDED`` relationships (``RECOMMENDED.model``), its
vectors (the node property ``Model.vector_property``) and its vector index (``Model.track_index``).

1. Vectors go to the **vector slot** the current model does not use (``embedding_a`` or
   ``embedding_b``, :data:`mmkg.schema.VECTOR_SLOTS`), which no reader looks at: its vector
   indexes are dropped (rebuilt at step 4), the vectors of nodes the run lacks removed, then
   the run's vectors written in batches over the rest (a track's vector and serving vector in
   one write).
2. The ``:Model {id}`` node is registered with ``current = false``
   (``cypher/publish_begin.cypher``). The id is ``<run folder>-<sha256 of embeddings.pt>[:8]``,
   so re-running an interrupted publish resumes the same version. The version may be the current
   one (the same run published again, perhaps in the other mode): its serving mode, which its
   readers follow, then changes at the flip, not here.
3. (``vectors``) ``RECOMMENDED`` of the version that an earlier publish of it served from top-K
   wrote (``Model.holds_recommended``) are deleted, before ``complete = true``; when the version
   is the current one served from top-K, whose readers use them until the flip, right after the
   flip instead (a failure there is finished by re-running the publish). Readers of a model
   served from vectors never read ``RECOMMENDED`` (``cypher/recommend.cypher``,
   ``explain.cypher`` and the Browser guide check ``Model.serve``).
   (``topk``) ``RECOMMENDED`` relationships are written in batches of users tagged ``model = id``, each batch
   sent as parallel lists (users, their tracks in rank order, their scores;
   :class:`RecommendationBatches`), not one map per relationship. A track or user missing from
   the graph is skipped and counted (``recommendations_skipped``). New ones are invisible while
   they are written; partial ones of an interrupted run are deleted first on a re-run. Then
   ``complete = true`` (a later re-run of this version skips this step). Lists that
   ``--new-tracks`` extended since (``Model.placed``) are restored to the run's own, one user
   per transaction (``publish_replace_recommendations``), unless new tracks are placed again
   right after (``keep_placed``).
4. The slot's vector indexes (and, for ``vectors``, its serving index) are created (when missing) and awaited online.
   The User index is built only when asked (``user_index``): no query of mmkg reads it (users
   are looked up by id), and at 10M listens it is the largest of the three (500k vectors).
5. **The flip** (``cypher/publish_flip.cypher``) is ONE small transaction: the old Model gets
   ``current = false``, the new one ``current = true``, its serving mode and the slot's property
   and index names.
   Readers therefore see either all old or all new results, a failure before the flip leaves the
   previous version untouched, and the flip costs the same at 1k or 1M nodes: no vector is copied
   (an earlier design copied every vector in the flip; at 10M listens, 700k vectors, that one
   transaction ran a 3 GB heap out of memory). The previous model's vectors stay in the other
   slot until the next publish clears it.
6. Calibration of the modality features (:mod:`mmkg.publish.calibrate`), before the flip: every
   ``Feature`` gets its catalog-standardised vector ``calibrated`` and the Model the thresholds
   of its modality reasons (``calibration_*``), which therefore become current with it.
7. Pruning: all but the ``keep`` most recent non-current complete versions are deleted
   (relationships in batches of users, then the Model node), and so are incomplete leftovers; so
   are the ``embedding`` properties and indexes of mmkg before vector slots, once.

One publish at a time: :func:`publish` holds the publish lock (``publish/lock.py``) from
before staging until after pruning; a second one meanwhile is refused with one line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from neo4j import Driver

from mmkg.config import BATCH
from mmkg.errors import DatabaseError, PublishError
from mmkg.graph import (ParameterBatch, load_query, read_rows, render, run_batches, run_implicit,
                        run_parameter_batches, write_rows)
from mmkg.progress import progress_bar
from mmkg.schema import (LEGACY_VECTOR_INDEXES, LEGACY_VECTOR_PROPERTIES, VectorSlot, Label, Prop,
                         Serve, next_vector_slot)
from mmkg.publish.calibrate import CalibrationConfig, FeatureCalibration, calibrate_features
from mmkg.publish.lock import holding_publish_lock
from mmkg.train.run_folder import Embeddings, RunFolder

log = logging.getLogger(__name__)

#: Called after each committed batch with (step name, rows in the batch); may raise to abort.
StepHook = Callable[[str, int], None]

STEPS = ("track_embeddings", "user_embeddings", "recommendations")
"""Batched steps reported to :data:`StepHook`, in the order they run (``track_embeddings``
writes the serving vectors too, in the same pass, when the model is served from vectors)."""

PHASES = ("vectors", "recommendations", "calibrate", "index", "flip", "prune")
"""The timed phases of a publish (:attr:`PublishSummary.phase_seconds`), in the order they run."""


@dataclass(frozen=True)
class RunOutput:
    """What publish reads from a run folder, checked."""

    model_id: str
    folder: Path
    """The run folder, absolute."""
    embeddings: Embeddings
    params: dict
    metrics: dict
    manifest: dict
    """The ``manifest.json`` of the export the run was trained on."""


@dataclass
class PublishSummary:
    """Counts and timings of one publish."""

    model_id: str
    dimension: int = 0
    tracks: int = 0
    users: int = 0
    recommendations: int = 0
    recommendations_skipped: int = 0
    """Recommendations of the run not written: their track (or user) is not in the graph."""
    missing_tracks: int = 0
    missing_users: int = 0
    recommendations_reused: bool = False
    """True when a re-run found this version's RECOMMENDED already complete."""
    recommendations_deleted_after_flip: bool = False
    """Served from vectors, this version had ``RECOMMENDED`` of an earlier publish of it served
    from top-K while it was current that way: they were deleted after the flip (readers used them
    until then)."""
    previous_model: str | None = None
    """The model that was current until this publish's flip (None when none was, or when this
    version already was)."""
    previous_published_at: datetime | None = None
    """When :attr:`previous_model` became current (its ``published_at``)."""
    indexes_created: list[str] = field(default_factory=list)
    pruned_models: list[str] = field(default_factory=list)
    seconds: float = 0.0
    serve: Serve = Serve.TOPK
    """How the model is served (``Model.serve``)."""
    user_index: bool = False
    """Whether the slot's User vector index was built (``Model.user_index``)."""
    vector_slot: str = ""
    """The vector slot (:data:`mmkg.schema.VECTOR_SLOTS`) the model's vectors were written to."""
    calibrations: list[FeatureCalibration] = field(default_factory=list)
    """The feature names calibrated for the modality reasons of ``explain``."""
    tracks_without_vector: int = 0
    """Tracks of the graph that the run has no vector for (nobody had listened to them when it
    was exported, or they arrived since), counted after the flip: ``mmkg publish RUN
    --new-tracks`` places them."""
    phase_seconds: dict[str, float] = field(default_factory=dict)
    """Wall seconds per phase of :data:`PHASES` that ran: ``vectors`` (clearing the slot, dropping
    its indexes of another dimension, staging), ``recommendations`` (Model node, RECOMMENDED),
    ``calibrate`` (the modality features' calibrated vectors and thresholds), ``index`` (creating the slot's vector indexes and waiting until online), ``flip`` (the swap
    transaction), ``prune`` (older versions, and the version's own ``RECOMMENDED`` when
    :attr:`recommendations_deleted_after_flip`)."""

    def phases_line(self) -> str:
        """``vectors 1.2 s, recommendations 30.4 s, ...`` in :data:`PHASES` order."""
        return ", ".join(f"{p} {self.phase_seconds[p]:.1f} s" for p in PHASES
                         if p in self.phase_seconds)

    @property
    def rows_per_second(self) -> float:
        """Written rows (relationships + vectors) per second over the whole publish."""
        rows = self.recommendations + self.tracks + self.users
        return rows / self.seconds if self.seconds else 0.0


MODEL_METRICS = {Prop.TEST_AUC: "auc", Prop.TEST_F1: "f1", Prop.TEST_RECALL_AT_20: "recall@20",
                 Prop.TEST_NDCG_AT_20: "ndcg@20"}
"""Model node property → test metric every run has (``docs/contracts.md`` section 4)."""


def model_properties(run: RunOutput) -> dict:
    """The Model node's readable summary beside its JSON ``params`` and ``metrics``:
    ``model_type`` (the run's model name, e.g. ``mkgcn``) and the test metrics of
    :data:`MODEL_METRICS`; null (no property) for what the run's ``metrics.json`` lacks."""
    test = run.metrics.get("test", {})
    return {Prop.MODEL_TYPE: run.metrics.get("model"),
            **{prop: test.get(metric) for prop, metric in MODEL_METRICS.items()}}


def read_run(run_dir: Path, model_id: str | None = None, export: Path | None = None) -> RunOutput:
    """Load and check a run folder; ``export`` overrides the export recorded in its ``model.pt``.

    Raises:
        RunFolderError: a file is missing or unreadable, or the tensors disagree in shape.
        PublishError: a vector is not finite.
    """
    run = RunFolder(run_dir)
    embeddings = run.load_embeddings()
    for what, vectors in (("track", embeddings.track), ("user", embeddings.user)):
        bad = int((~torch.isfinite(vectors).all(dim=1)).sum())
        if bad:
            raise PublishError(f"{run.path} holds {bad} of {len(vectors)} {what} vectors that are "
                               "not finite (a diverged training): nothing was published, the "
                               "current model keeps serving")
    return RunOutput(
        model_id=model_id or f"{run.path.resolve().name}-{run.embeddings_digest()}",
        folder=run.path.resolve(), embeddings=embeddings, params=run.load_config(),
        metrics=run.load_metrics(), manifest=run.export_manifest(export),
    )


def serving_vectors(track: torch.Tensor, norm: float | None = None) -> tuple[torch.Tensor, float]:
    """The serving vectors of track vectors ``t [n, d]`` and ``M`` (``norm``, or by default
    their largest norm): ``[t / M, sqrt(max(0, 1 - |t|² / M²))]`` ``[n, d + 1]``, of norm 1 where
    ``|t| <= M``, so that for any user vector ``u`` the cosine of ``[u, 0]`` with row ``i`` is
    ``u · t_i / (|u| M)``: the same order as the dot product. (``M`` is 1 for all-zero
    vectors.)"""
    t = track.double()
    norms = t.norm(dim=1)
    m = norm if norm is not None else float(norms.max()) if len(t) else 0.0
    m = m if m > 0 else 1.0
    extra = (1 - (norms / m) ** 2).clamp(min=0).sqrt()
    return torch.cat([t / m, extra[:, None]], dim=1).float(), m


def check_servable(run: RunOutput, serve: Serve) -> None:
    """Refuse to serve from vectors a run whose model is not scored by the dot product of the
    vectors it publishes.

    Raises:
        PublishError: one line naming the model and ``--serve topk``.
    """
    from mmkg.train.model.base import VectorRecommender
    from mmkg.train.registry import MODELS

    name = run.metrics.get("model") or run.params.get("model", {}).get("name")
    if serve == Serve.VECTORS and not (name in MODELS.names() and issubclass(MODELS.get(name), VectorRecommender)):
        raise PublishError(f"{run.model_id}: model {name!r} is not scored by the dot product of "
                           "its vectors, so it cannot be served from them: publish it with "
                           "--serve topk")


def embedding_rows(ids: list[str], vectors: torch.Tensor,
                   serving: torch.Tensor | None = None) -> list[dict]:
    """``[{id, vector}]`` rows for the ``publish_stage_*`` queries, ``[{id, vector, serving}]``
    with ``serving`` vectors (``publish_stage_track_serving``)."""
    if serving is None:
        return [{"id": i, "vector": v} for i, v in zip(ids, vectors.tolist())]
    return [{"id": i, "vector": v, "serving": s}
            for i, v, s in zip(ids, vectors.tolist(), serving.tolist())]


class RecommendationBatches:
    """The ``RECOMMENDED`` batches of ``cypher/publish_recommendations.cypher``: per batch of
    ``batch_size`` users, parallel lists ``users``, ``tracks`` (per user, in rank order) and
    ``scores``, padding (negative items) and NaN scores dropped. Built one batch at a time, so
    publishing holds one batch in memory (not users × K values: 5M at 1M listens); iterate it
    again to rebuild the batches."""

    def __init__(self, embeddings: Embeddings, batch_size: int) -> None:
        self.embeddings = embeddings
        self.batch_size = batch_size
        self._track_ids = np.asarray(embeddings.track_ids, dtype=object)

    @property
    def recommendations(self) -> int:
        """How many (user, track) pairs the batches send in all."""
        emb = self.embeddings
        return int(((emb.topk_items >= 0) & ~torch.isnan(emb.topk_scores)).sum())

    def __iter__(self) -> Iterator[ParameterBatch]:
        emb = self.embeddings
        for start in range(0, len(emb.user_ids), self.batch_size):
            stop = start + self.batch_size
            top_scores, top_items = emb.topk_scores[start:stop], emb.topk_items[start:stop]
            order = torch.argsort(top_scores, dim=1, descending=True, stable=True)
            items = torch.gather(top_items, 1, order).numpy()
            scores = torch.gather(top_scores, 1, order).numpy()
            kept = (items >= 0) & ~np.isnan(scores)
            tracks = self._track_ids[np.where(kept, items, 0)]
            if kept.all():
                track_lists, score_lists = tracks.tolist(), scores.tolist()
            else:
                track_lists = [t[k].tolist() for t, k in zip(tracks, kept)]
                score_lists = [s[k].tolist() for s, k in zip(scores, kept)]
            users = emb.user_ids[start:stop]
            yield ParameterBatch(len(users), {"users": users, "tracks": track_lists,
                                              "scores": score_lists})


def vector_index_dimensions(driver: Driver, database: str) -> dict[str, int]:
    """``{index name: vector.dimensions}`` of the vector indexes that exist."""
    return {r["name"]: int(r["options"]["indexConfig"]["vector.dimensions"])
            for r in run_implicit(driver, database, load_query("publish_vector_indexes"))}


def create_vector_index(driver: Driver, database: str, name: str, label: Label, prop: Prop,
                        dimension: int, *, quantized: bool = True) -> str:
    """Create the cosine vector index ``name`` over ``prop`` of ``label`` (if missing; int8
    quantized unless ``quantized`` is False); it populates in the background
    (:func:`await_indexes`)."""
    run_implicit(driver, database, render("publish_create_vector_index", name=name, label=label,
                                          property=prop),
                 dimension=dimension, quantized=quantized)
    return name


def await_indexes(driver: Driver, database: str, names: list[str], timeout_s: float = 3600) -> None:
    """Wait until the indexes ``names`` are online. Created together, they populate at the same
    time (the population of 700k vectors takes minutes; three one after the other took 118 s at
    10M listens)."""
    for name in names:
        run_implicit(driver, database, load_query("publish_await_index"), name=name,
                     timeout=int(timeout_s))


def _write(driver: Driver, database: str, name: str, **params) -> dict | None:
    """Run ``cypher/<name>.cypher`` in one write transaction; its first row, if any."""
    rows = write_rows(driver, database, load_query(name), **params)
    return rows[0] if rows else None


def _in_batches(driver: Driver, database: str, name: str, **params) -> None:
    """Run a ``CALL { … } IN TRANSACTIONS`` query (it needs an implicit transaction)."""
    run_implicit(driver, database, load_query(name), **params)


def _delete_recommendations(driver: Driver, database: str, model: str, batch_size: int) -> None:
    """Delete every ``RECOMMENDED`` of ``model`` (``batch_size`` users per transaction), then
    record that it has none (``Model.holds_recommended``): an interrupted deletion is done again
    by the next publish of the version served from vectors."""
    _in_batches(driver, database, "publish_delete_recommendations", model=model, batchSize=batch_size)
    _write(driver, database, "publish_recommendations_deleted", model=model)


def _clear_vectors(driver: Driver, database: str, prop: str, batch_size: int) -> None:
    """Remove the vector property ``prop`` from every Track and User, in batches."""
    run_implicit(driver, database, render("publish_clear_vectors", property=prop),
                 batchSize=batch_size)


def _target_slot(driver: Driver, database: str) -> VectorSlot:
    """The vector slot this publish writes: the one the current model does not use (read in a
    write transaction, i.e. on the leader, which committed the last flip)."""
    return next_vector_slot(_write(driver, database, "publish_current_slot")["property"])


def _prepare_slot(driver: Driver, database: str, slot: VectorSlot, existing: dict[str, int],
                  batch_size: int, run: RunOutput, serve: Serve) -> None:
    """Drop the vector indexes of ``slot`` (no reader uses the slot until the flip), removing
    them from ``existing`` (:func:`vector_index_dimensions`) too, so that :func:`_flip` builds
    them afresh from the written vectors (at 10M listens, writing 900k vectors under live
    indexes took 224 s, without them 52 s plus 77 s to build the three indexes at once); then
    remove the slot's vectors that staging will not overwrite: those of nodes absent from
    ``run``, and every serving vector unless ``serve`` is ``vectors``. (Removing all of them
    first rewrote each node twice: 900k property removals at 10M listens.)"""
    for name in [*slot.indexes.values(), slot.serving_index]:
        if existing.pop(name, None) is not None:
            run_implicit(driver, database, render("schema_drop_index", name=name))
    for label, kept in ((Label.TRACK, run.embeddings.track_ids), (Label.USER, run.embeddings.user_ids)):
        stale = read_rows(driver, database, render("publish_stale_vectors", label=label,
                                                   property=slot.prop, serving=slot.serving),
                          kept=kept, servingKept=serve == Serve.VECTORS)
        for prop, column in ((slot.prop, "vector"), (slot.serving, "serving")):
            ids = [row["id"] for row in stale if row[column]]
            if ids:
                run_batches(driver, database, render("publish_remove_vectors", label=label, property=prop),
                            ids, batch_size=batch_size)


def stage_track_vectors(driver: Driver, database: str, prop: Prop | str, ids: list[str],
                        vectors: torch.Tensor, batch_size: int, *,
                        serving: tuple[Prop | str, torch.Tensor] | None = None,
                        on_batch: Callable[[int], None] | None = None) -> int:
    """Write track vectors to the property ``prop`` and, given ``serving`` = (property, serving
    vectors), those in the same pass (``publish_stage_track_serving``: one lookup and one write
    per track, not two); return how many tracks were found."""
    if serving is None:
        query, rows = render("publish_stage_track_embeddings", property=prop), embedding_rows(ids, vectors)
    else:
        query = render("publish_stage_track_serving", property=prop, serving=serving[0])
        rows = embedding_rows(ids, vectors, serving[1])
    staged = run_batches(driver, database, query, rows, batch_size=batch_size, on_batch=on_batch)
    return staged.properties_set // (1 if serving is None else 2)


def _stage_users(driver: Driver, database: str, prop: Prop, ids: list[str],
                 vectors: torch.Tensor, batch_size: int, on_batch: Callable[[int], None]) -> int:
    """Write user vectors to the property ``prop``; return how many users were found."""
    staged = run_batches(driver, database, render("publish_stage_user_embeddings", property=prop),
                         embedding_rows(ids, vectors), batch_size=batch_size, on_batch=on_batch)
    return staged.properties_set


@holding_publish_lock
def publish(
    driver: Driver,
    database: str,
    run_dir: Path,
    *,
    keep: int = 3,
    batch_size: int = BATCH.publish,
    progress: bool = True,
    model_id: str | None = None,
    export: Path | None = None,
    on_step: StepHook | None = None,
    calibration: CalibrationConfig = CalibrationConfig(),
    serve: Serve = Serve.TOPK,
    user_index: bool = False,
    keep_placed: bool = False,
) -> PublishSummary:
    """Publish ``run_dir`` as a new current model version (see the module docstring).

    Tracks and users of the run that are not in the graph are skipped, and so are the
    recommendations that name them: counted in :attr:`PublishSummary.missing_tracks`,
    :attr:`~PublishSummary.missing_users` and :attr:`~PublishSummary.recommendations_skipped`,
    logged as one warning; the other recommendations keep their rank (so a user's ranks may have
    a gap where a skipped track was).

    Args:
        keep: previous complete versions to retain (their RECOMMENDED and Model node); older go.
        batch_size: rows per write transaction (users for recommendations, nodes for vectors).
        progress: show a progress bar.
        model_id: override the derived ``<run folder>-<hash>`` id.
        export: the ExportedGraph folder the run was trained on, when it is not (or no longer)
            where the run's ``model.pt`` says.
        on_step: called after every committed batch with (step, rows); an exception it raises
            aborts the publish before the flip, leaving the current version untouched.
        calibration: how the modality features are calibrated (:mod:`mmkg.publish.calibrate`).
        serve: ``topk`` (write the run's top-K as RECOMMENDED) or ``vectors`` (write the
            tracks' serving vectors and index instead; module docstring).
        user_index: also build the cosine vector index over the users' vectors (for queries of
            your own, e.g. similar listeners; ``Model.user_index`` names it).
        keep_placed: keep this version's lists as they are when ``--new-tracks`` extended them
            since they were written (``Model.placed``), because the caller places new tracks
            right after (``mmkg publish`` without ``--trained-only``). Otherwise they are
            restored to the run's own top-K, one user per transaction: the tracks placed in them
            get no vector in the new slot.
        force_unlock: (added by :func:`~mmkg.publish.lock.holding_publish_lock`) break a
            publish lock left by a publish that died on another host first.

    Raises:
        RunFolderError: the folder is incomplete or inconsistent, or its export manifest is gone.
        PublishError: no node of the run exists in the graph, another publish is running, or
            ``serve`` is ``vectors`` for a model not scored by a dot product.
        DatabaseError: Neo4j refused a write; before the flip the previous version keeps
            serving, after it (deleting the version's ``RECOMMENDED``, pruning) this one is
            current; either way re-running the publish completes it.
    """
    if keep < 0 or batch_size < 1:
        raise ValueError("keep must be >= 0 and batch_size >= 1")
    started = time.perf_counter()
    serve = Serve(serve)
    run = read_run(Path(run_dir), model_id, export)
    check_servable(run, serve)
    emb = run.embeddings
    summary = PublishSummary(model_id=run.model_id, dimension=emb.dimension, serve=serve,
                             user_index=user_index)
    phases = summary.phase_seconds
    serving, serving_norm = serving_vectors(emb.track) if serve == Serve.VECTORS else (None, None)
    total = {"track_embeddings": len(emb.track_ids), "user_embeddings": len(emb.user_ids),
             "recommendations": len(emb.user_ids) if serve == Serve.TOPK else 0}
    with _Progress(progress, total, on_step) as bar:
        try:
            with _timed(phases, "vectors"):
                slot = _target_slot(driver, database)
                summary.vector_slot = slot.name
                indexes = vector_index_dimensions(driver, database)
                _prepare_slot(driver, database, slot, indexes, batch_size, run, serve)
                summary.tracks = stage_track_vectors(
                    driver, database, slot.prop, emb.track_ids, emb.track, batch_size,
                    serving=None if serving is None else (slot.serving, serving),
                    on_batch=bar.callback("track_embeddings"))
                summary.users = _stage_users(driver, database, slot.prop, emb.user_ids, emb.user,
                                             batch_size, bar.callback("user_embeddings"))
            _check_found(run, summary)
            with _timed(phases, "recommendations"):
                _write_recommendations(driver, database, run, summary, batch_size, bar,
                                       serve, serving_norm, keep_placed)
            with _timed(phases, "calibrate"):
                summary.calibrations = calibrate_features(driver, database, run.model_id,
                                                          config=calibration, batch_size=batch_size)
        except DatabaseError as e:
            raise DatabaseError(f"publish of {run.model_id} failed: {e}") from e
    _flip(driver, database, run, slot, indexes, summary, serving_norm)
    summary.tracks_without_vector = max(
        0, run_implicit(driver, database, load_query("publish_count_tracks"))[0]["n"] - summary.tracks)
    with _timed(phases, "prune"):
        if summary.recommendations_deleted_after_flip:
            try:
                _delete_recommendations(driver, database, run.model_id, batch_size)
            except DatabaseError as e:
                raise DatabaseError(f"model {run.model_id} is current, served from vectors, but "
                                    f"deleting its RECOMMENDED of top-K failed: {e}; re-running "
                                    "the publish completes it") from e
        summary.pruned_models = prune(driver, database, keep=keep, batch_size=batch_size)
        _drop_legacy_vectors(driver, database, indexes, batch_size)
    summary.seconds = time.perf_counter() - started
    log.debug("published %s: %d recommendations, %d track and %d user vectors in %.1f s (%s)",
              run.model_id, summary.recommendations, summary.tracks, summary.users, summary.seconds,
              summary.phases_line())
    return summary


@contextmanager
def _timed(phases: dict[str, float], phase: str) -> Iterator[None]:
    """Add the wall seconds of the ``with`` block to ``phases[phase]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[phase] = phases.get(phase, 0.0) + time.perf_counter() - started


def _write_recommendations(driver: Driver, database: str, run: RunOutput, summary: PublishSummary,
                           batch_size: int, bar: _Progress, serve: Serve,
                           serving_norm: float | None, keep_placed: bool) -> None:
    """Register the Model node (with its serving mode) and, served from top-K, write its
    RECOMMENDED relationships, unless a previous run of this version in the same mode completed
    them; partial ones of an interrupted run are deleted first. Complete lists that placed
    tracks extended are restored to the run's own unless ``keep_placed`` (:func:`publish`),
    each user's in one transaction: the version may be the current one. Served from vectors,
    there is nothing to write, but ``RECOMMENDED`` that an earlier publish of the version served
    from top-K left are deleted: at once, so that the Model is complete only without them, or,
    when the version is the current one served from top-K (its readers use them until the
    flip), after the flip (:attr:`PublishSummary.recommendations_deleted_after_flip`)."""
    emb = run.embeddings
    state = _write(driver, database, "publish_begin", model=run.model_id,
                   params=json.dumps(run.params), metrics=json.dumps(run.metrics),
                   datasetManifest=json.dumps(run.manifest), dimension=emb.dimension, k=emb.k,
                   summary=model_properties(run), serve=serve.value, servingNorm=serving_norm,
                   runFolder=str(run.folder))
    if serve == Serve.VECTORS:
        if state["holdsRecommended"]:
            if state["current"] and state["serve"] == Serve.TOPK:
                summary.recommendations_deleted_after_flip = True
            else:
                _delete_recommendations(driver, database, run.model_id, batch_size)
        _write(driver, database, "publish_complete", model=run.model_id)
        return
    restore = bool(state["complete"] and state["placed"] and not keep_placed)
    summary.recommendations_reused = bool(state["complete"]) and not restore
    if summary.recommendations_reused:
        bar.skip("recommendations")
        return
    if not restore:
        _in_batches(driver, database, "publish_delete_recommendations", model=run.model_id,
                    batchSize=batch_size)
    batches = RecommendationBatches(emb, batch_size)
    query = "publish_replace_recommendations" if restore else "publish_recommendations"
    written = run_parameter_batches(driver, database, load_query(query),
                                    batches, params={"model": run.model_id},
                                    on_batch=bar.callback("recommendations"))
    summary.recommendations = written.relationships_created
    summary.recommendations_skipped = batches.recommendations - written.relationships_created
    if summary.recommendations_skipped:
        log.warning("%s: %d recommendations name a track or user that is not in the graph "
                    "(skipped)", run.model_id, summary.recommendations_skipped)
    _write(driver, database, "publish_complete", model=run.model_id)


def _check_found(run: RunOutput, summary: PublishSummary) -> None:
    """Refuse a run none of whose tracks or users are in the graph; log partial misses."""
    summary.missing_tracks = len(run.embeddings.track_ids) - summary.tracks
    summary.missing_users = len(run.embeddings.user_ids) - summary.users
    if summary.tracks == 0 or summary.users == 0:
        what = "tracks" if summary.tracks == 0 else "users"
        raise PublishError(f"{run.model_id}: none of its {what} exist in the graph; "
                           "was it trained on this database?")
    for what, n in (("tracks", summary.missing_tracks), ("users", summary.missing_users)):
        if n:
            log.warning("%s: %d %s of the run are not in the graph (skipped)", run.model_id, n, what)


def _flip(driver: Driver, database: str, run: RunOutput, slot: VectorSlot,
          existing: dict[str, int], summary: PublishSummary, serving_norm: float | None) -> None:
    """Create the slot's vector indexes missing from ``existing`` (the User one only with
    ``summary.user_index``), then swap in the new version, served as ``summary.serve`` says
    (with ``serving_norm``, :func:`serving_vectors`' ``M``, from vectors)."""
    dimension = run.embeddings.dimension
    phases = summary.phase_seconds
    serve_vectors = summary.serve == Serve.VECTORS
    try:
        with _timed(phases, "index"):
            for label, name in slot.indexes.items():
                if name not in existing and (label != Label.USER or summary.user_index):
                    create_vector_index(driver, database, name, label, slot.prop, dimension)
                    summary.indexes_created.append(name)
            if serve_vectors and slot.serving_index not in existing:
                create_vector_index(driver, database, slot.serving_index, Label.TRACK,
                                    slot.serving, dimension + 1, quantized=False)
                summary.indexes_created.append(slot.serving_index)
            await_indexes(driver, database, summary.indexes_created)
        with _timed(phases, "flip"):
            result = _write(driver, database, "publish_flip", model=run.model_id,
                            serve=summary.serve.value, servingNorm=serving_norm,
                            **slot.model_properties(serve_vectors, summary.user_index))
    except DatabaseError as e:
        raise DatabaseError(f"publish of {run.model_id} failed at the flip: {e}") from e
    if result is None:
        raise PublishError(f"{run.model_id}: Model node vanished or is incomplete at the flip")
    summary.previous_model = result["previous"]
    if result["previousPublishedAt"] is not None:
        summary.previous_published_at = result["previousPublishedAt"].to_native()


def _drop_legacy_vectors(driver: Driver, database: str, existing: dict[str, int],
                         batch_size: int) -> None:
    """Drop the vector indexes and properties mmkg wrote before vector slots, if any of those
    indexes is in ``existing`` (the sign: checking the properties would scan every node each
    publish)."""
    legacy = [name for name in existing if name in LEGACY_VECTOR_INDEXES]
    if not legacy:
        return
    log.info("removing the vectors of mmkg before vector slots: indexes %s, properties %s",
             ", ".join(legacy), ", ".join(LEGACY_VECTOR_PROPERTIES))
    for name in legacy:
        run_implicit(driver, database, render("schema_drop_index", name=name))
    for prop in LEGACY_VECTOR_PROPERTIES:
        _clear_vectors(driver, database, prop, batch_size)


def prune(driver: Driver, database: str, *, keep: int = 3,
          batch_size: int = BATCH.publish) -> list[str]:
    """Delete all but the ``keep`` newest non-current complete versions; return deleted ids.

    Raises:
        DatabaseError: Neo4j refused a deletion (re-running finishes it).
    """
    candidates = run_implicit(driver, database, load_query("publish_prune_candidates"), keep=keep)
    deleted = []
    for row in candidates:
        _in_batches(driver, database, "publish_delete_recommendations",
                    model=row["model"], batchSize=batch_size)
        _write(driver, database, "publish_delete_model", model=row["model"])
        deleted.append(row["model"])
    if deleted:
        log.info("pruned model versions: %s", ", ".join(deleted))
    return deleted


class _Progress:
    """The progress bars of the batched steps, which also forward to the caller's hook."""

    def __init__(self, enabled: bool, total: dict[str, int], hook: StepHook | None) -> None:
        self.hook = hook
        self.total = total
        self.bar = progress_bar("rows", disable=not enabled)
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> "_Progress":
        self.bar.__enter__()
        self.tasks = {step: self.bar.add_task(step.replace("_", " "), total=self.total[step])
                      for step in STEPS}
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def callback(self, step: str) -> Callable[[int], None]:
        def advance(rows: int) -> None:
            self.bar.advance(self.tasks[step], rows)
            if self.hook is not None:
                self.hook(step, rows)
        return advance

    def skip(self, step: str) -> None:
        self.bar.update(self.tasks[step], completed=self.total[step])
