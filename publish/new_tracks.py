"""``mmkg publish RUN --new-tracks``: give tracks ingested after training a vector from the
current model and a place in its top-K lists, without retraining.

Under the publish lock (``publish/lock.py``: never beside a publish), for the run that is
the **current** model (its id, as :func:`mmkg.publish.writer.read_run` derives it, must be
``Model {current: true}``'s, so its user vectors are the ones served):

1. read the tracks the run's export lacks (:func:`mmkg.export.new_tracks.read_new_tracks`);
2. compute their vectors with the trained model (:func:`mmkg.train.new_tracks.embed_new_tracks`);
   tracks with neither features nor known KG facts are named and left out;
3. write them into the current model's vector slot (``Model.vector_property``, the
   ``publish_stage_track_embeddings`` query), where its vector index finds them (``similar``,
   cold start), and give their features calibrated copies
   (:func:`mmkg.publish.calibrate.calibrate_new_tracks`), so that ``explain`` can say a new
   track "sounds like" one the user played;
4. served from vectors (``Model.serve = 'vectors'``): write their serving vectors with the
   model's ``serving_norm`` ``M`` (:func:`mmkg.publish.writer.serving_vectors`; a new track
   longer than ``M`` gets ``t / M`` and a 0, so it ranks by ``u · t / |t|``, slightly below its
   dot-product place), and stop: there is no list to rewrite. Served from top-K:
   rewrite the ``RECOMMENDED`` lists of the users a new track enters
   (:func:`~mmkg.train.new_tracks.merge_topk`) and the graph still holds (a user of the run
   forgotten since by ``mmkg delete-users`` gets none), one user's old list deleted and the new one
   written in one transaction (``publish_replace_recommendations``): ranks stay ``1..K``; the
   Model is marked ``placed``, so a later publish of this version without placement restores
   the run's own lists.

Every step derives from the run folder and the graph alone, so a re-run writes the same vectors
and lists (idempotent), and one interrupted is completed by running it again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch
from neo4j import Driver

from mmkg.config import BATCH
from mmkg.errors import DatabaseError, PublishError
from mmkg.export import ExportedGraph
from mmkg.export.new_tracks import read_new_tracks
from mmkg.graph import load_query, read_rows, run_parameter_batches, write_rows
from mmkg.train.new_tracks import embed_new_tracks, merge_topk
from mmkg.publish.calibrate import calibrate_new_tracks
from mmkg.publish.writer import (RecommendationBatches, read_run, serving_vectors,
                                 stage_track_vectors)
from mmkg.schema import Serve
from mmkg.publish.lock import holding_publish_lock
from mmkg.train.run_folder import Embeddings, RunFolder

log = logging.getLogger(__name__)

SHOWN = 5
"""Track ids a message names at most."""


@dataclass
class NewTracksSummary:
    """What ``--new-tracks`` did."""

    model_id: str
    new: int = 0
    """Tracks in the graph that the run was not trained on."""
    embedded: int = 0
    first_vectors: int = 0
    """Of the embedded tracks, those without a vector of the model until now (the others were
    placed by an earlier run of this step, and get the same vector again)."""
    without_signal: list[str] = field(default_factory=list)
    """New tracks with neither features nor KG facts the model knows: not embedded."""
    skipped_edges: Counter = field(default_factory=Counter)
    """KG edges of new tracks to nodes (or through relations) the model never saw, or to nodes
    its training never reached (:func:`mmkg.train.new_tracks.trained_entities`)."""
    calibrated: int = 0
    """Feature vectors of the embedded tracks given a calibrated copy (for ``explain``)."""
    users: int = 0
    """Users of the graph whose top-K a new track entered: their lists rewritten (users of the
    run absent from the graph are not counted: they get no list)."""
    recommendations: int = 0
    """``RECOMMENDED`` relationships written in those lists."""
    phase_seconds: dict[str, float] = field(default_factory=dict)
    """``read`` (the graph), ``embed`` (the forward pass), ``write`` (vectors, calibrated
    features and lists)."""
    seconds: float = 0.0

    def without_signal_line(self) -> str:
        """One line naming how many new tracks got no vector and a few of them ('' if none)."""
        n = len(self.without_signal)
        if not n:
            return ""
        more = f" and {n - SHOWN} more" if n > SHOWN else ""
        return (f"{n} new track(s) have neither media features nor KG facts the model knows, "
                f"so no vector until a model is trained with them (`mmkg train`): "
                f"{', '.join(self.without_signal[:SHOWN])}{more}")


@holding_publish_lock
def publish_new_tracks(driver: Driver, database: str, run_dir: Path, *,
                       batch_size: int = BATCH.publish, model_id: str | None = None,
                       export: Path | None = None) -> NewTracksSummary:
    """Embed and publish the tracks the current model's run was not trained on (module docstring).

    Raises:
        PublishError: ``run_dir`` is not the current model, or another publish is running.
        RunFolderError, ExportError: the run folder or its export is incomplete.
        TrainError: the run's model cannot place new tracks.
        DatabaseError: Neo4j refused a write (a re-run completes it).
    """
    started = time.perf_counter()
    run = read_run(Path(run_dir), model_id, export)
    summary = NewTracksSummary(run.model_id)
    [current] = write_rows(driver, database, load_query("publish_current_slot"))
    if current["model"] != run.model_id:
        raise PublishError(f"{run_dir} is model {run.model_id}, but the current model is "
                           f"{current['model'] or 'none'}: publish it first, or give the current "
                           "model's run")
    export_path = Path(export) if export else RunFolder(run_dir).load_model().export
    exported = ExportedGraph.load(export_path, mmap=True)
    phases = summary.phase_seconds
    new = read_new_tracks(driver, database, exported, chunk_ids=batch_size)
    summary.new, summary.skipped_edges = len(new), new.skipped_edges
    phases["read"] = time.perf_counter() - started
    if not len(new):
        summary.seconds = time.perf_counter() - started
        return summary
    vectors = embed_new_tracks(run_dir, exported, new)
    summary.skipped_edges = new.skipped_edges + vectors.untrained_edges
    summary.embedded, summary.without_signal = len(vectors.ids), vectors.without_signal
    phases["embed"] = time.perf_counter() - started - phases["read"]
    try:
        served_from_vectors = current["serve"] == Serve.VECTORS
        serving = (current["servingProperty"],
                   serving_vectors(vectors.vectors, norm=current["servingNorm"])[0]) \
            if served_from_vectors else None
        [first] = write_rows(driver, database, load_query("publish_count_without_vector"),
                             ids=vectors.ids, property=current["property"])
        summary.first_vectors = first["n"]
        stage_track_vectors(driver, database, current["property"], vectors.ids, vectors.vectors,
                            batch_size, serving=serving)
        summary.calibrated = calibrate_new_tracks(driver, database, vectors.ids,
                                                  batch_size=batch_size)
        if served_from_vectors:
            summary.seconds = time.perf_counter() - started
            phases["write"] = summary.seconds - phases["read"] - phases["embed"]
            return summary
        emb = run.embeddings
        users, items, scores = _in_graph(driver, database, emb, *merge_topk(emb, vectors))
        lists = Embeddings(track_ids=[*emb.track_ids, *vectors.ids],
                           user_ids=[emb.user_ids[u] for u in users.tolist()],
                           track=emb.track, user=emb.user[users], topk_items=items, topk_scores=scores)
        if len(users):  # marked first: lists an interrupted rewrite changed are marked too
            write_rows(driver, database, load_query("publish_mark_placed"), model=run.model_id)
        written = run_parameter_batches(driver, database,
                                        load_query("publish_replace_recommendations"),
                                        RecommendationBatches(lists, batch_size),
                                        params={"model": run.model_id})
    except DatabaseError as e:
        raise DatabaseError(f"new tracks of {run.model_id} failed: {e}; re-run to complete") from e
    summary.users, summary.recommendations = len(users), written.relationships_created
    summary.seconds = time.perf_counter() - started
    phases["write"] = summary.seconds - phases["read"] - phases["embed"]
    log.debug("%s: %d new tracks embedded, %d users' top-K rewritten in %.1f s", run.model_id,
              summary.embedded, summary.users, summary.seconds)
    return summary


def _in_graph(driver: Driver, database: str, emb: Embeddings, users: torch.Tensor,
              items: torch.Tensor, scores: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The rows of :func:`~mmkg.train.new_tracks.merge_topk`'s ``(users, items, scores)`` whose
    user (an index of ``emb.user_ids``) is in the graph (``export_existing_users``): the lists
    that are written, so that :attr:`NewTracksSummary.users` counts them."""
    ids = [emb.user_ids[u] for u in users.tolist()]
    [row] = read_rows(driver, database, load_query("export_existing_users"), ids=ids)
    present = set(row["ids"])
    keep = torch.tensor([i in present for i in ids], dtype=torch.bool)
    return users[keep], items[keep], scores[keep]
