r"""FastRP vectors of an export's training graph, computed inside Neo4j by Graph Data Science.

The baseline a Neo4j user tries first: project a graph into GDS, run FastRP (Chen et al., *Fast
and Accurate Network Embeddings via Very Sparse Random Projection*, CIKM 2019), compare vectors.
FastRP gives each node a very sparse random vector (scaled by its degree to the power β) and
averages it over ever wider neighbourhoods,

.. math::
    N_0 = R, \qquad N_k = \mathrm{norm}(D^{-1} A N_{k-1}), \qquad
    E = s\,R + \sum_{k=1}^{K} w_k N_k

(:math:`w_k` = ``iteration_weights``, :math:`s` = ``node_self_influence``, β =
``normalization_strength``, rows L2-normalised), so nodes with similar neighbourhoods get similar
vectors. Nothing is trained.

Honest evaluation: the split is made in Python (:mod:`mmkg.export.split`), so Neo4j cannot tell
training ``LISTENED`` from held-out ones. The projection is therefore built from the **export
itself**, passed as query parameters: every exported node, the training pairs
(``split["train"]``) and the export's KG edges — never from the database's relationships, so no
validation or test interaction reaches GDS (``cypher/gds_project_training_graph.cypher``). The
graph is undirected, projected under a unique name and always dropped afterwards.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import numpy as np
from neo4j import Driver
from pydantic import BaseModel, ConfigDict, Field

from mmkg.errors import ExportError
from mmkg.export.exported import ExportedGraph
from mmkg.graph import read_named
from mmkg.schema import Label

log = logging.getLogger(__name__)


class FastRPConfig(BaseModel):
    """The knobs of ``gds.fastRP``. Defaults: tuned for model ``fastrp`` on Last.FM
    (``topk-801010``, split seed 0) validation Recall@20. The even hops 2 and 4 (tracks sharing
    listeners or KG neighbours) carry the signal; with weights (0, 0, 1, 0, 1) more dimensions
    help up to ~1024 (0.324 at 128, 0.335 at 256, 0.337 at 512, 0.340 at 1024, 0.334 at 2048);
    hop 3 at 0.5 gives 0.344 at 1024; degree normalisation and self influence do not help."""

    model_config = ConfigDict(frozen=True)

    dim: int = Field(1024, ge=1)
    """``embeddingDimension``."""
    iteration_weights: tuple[float, ...] = (0.0, 0.0, 1.0, 0.5, 1.0)
    """``iterationWeights`` :math:`w_1..w_K`: weight of the k-hop average in the final vector."""
    normalization_strength: float = 0.0
    """``normalizationStrength`` β: random vectors scaled by degree^β (β < 0 damps hubs)."""
    node_self_influence: float = 0.0
    """``nodeSelfInfluence``: weight of a node's own random vector."""
    seed: int = 0
    """``randomSeed``: the same graph and seed give the same vectors."""

    def to_manifest(self) -> dict[str, Any]:
        return {"dim": self.dim, "iteration_weights": list(self.iteration_weights),
                "normalization_strength": self.normalization_strength,
                "node_self_influence": self.node_self_influence, "seed": self.seed}


def add_fastrp(exported: ExportedGraph, driver: Driver, database: str,
               config: FastRPConfig | None = None) -> dict[str, Any]:
    """Compute FastRP vectors of ``exported``'s training graph in ``database`` and attach them.

    Sets ``exported.fastrp`` to ``{"user": float32 [n_users, dim], "track": float32 [n_tracks,
    dim]}`` (row ``k`` = node ``k`` of the id map) and ``exported.manifest["fastrp"]`` to the
    config plus the projection's counts, which it returns.

    Raises:
        ExportError: an exported node is missing from the database (it changed since the
            export), or GDS did not answer for every user and track.
        DatabaseError: Neo4j refused a query (e.g. GDS is not installed).
    """
    config = config or FastRPConfig()
    started = time.perf_counter()
    nodes, edges = _training_graph(exported)
    graph_name = f"mmkg-fastrp-{uuid.uuid4().hex}"
    projected = read_named(driver, database, "gds_project_training_graph",
                           graph_name=graph_name, nodes=nodes, edges=edges)[0]["projection"]
    try:
        if projected["nodeCount"] != len(nodes):
            raise ExportError(f"FastRP: {len(nodes) - projected['nodeCount']} exported node(s) are "
                              "no longer in the database; export again")
        rows = read_named(driver, database, "gds_fastrp_stream", graph_name=graph_name,
                          dim=config.dim, iteration_weights=list(config.iteration_weights),
                          normalization_strength=config.normalization_strength,
                          node_self_influence=config.node_self_influence, seed=config.seed)
    finally:
        read_named(driver, database, "gds_drop_graph", graph_name=graph_name)
    exported.fastrp = {
        "user": _matrix(rows, True, exported.id_maps[Label.USER.value], config.dim),
        "track": _matrix(rows, False, exported.id_maps[Label.TRACK.value], config.dim),
    }
    summary = {**config.to_manifest(), "nodes": projected["nodeCount"],
               "relationships": projected["relationshipCount"],
               "seconds": round(time.perf_counter() - started, 2)}
    exported.manifest["fastrp"] = summary
    log.info("FastRP (dim %d) on %d nodes / %d relationships in %.1fs", config.dim,
             summary["nodes"], summary["relationships"], summary["seconds"])
    return summary


def _training_graph(exported: ExportedGraph) -> tuple[list[list[str]], list[list[str]]]:
    """``[label, id]`` of every exported node and ``[src label, src id, dst label, dst id]`` of
    every training pair and KG edge of ``exported``."""
    ids = exported.id_maps
    nodes = [[label, node_id] for label, label_ids in ids.items() for node_id in label_ids]
    users, tracks = ids[Label.USER.value], ids[Label.TRACK.value]
    edges = [[Label.USER.value, users[u], Label.TRACK.value, tracks[t]]
             for u, t in np.asarray(exported.split["train"]).tolist()]
    for src_label, rel, dst_label in exported.relations:
        src, dst = exported.graph.edges(etype=(src_label, rel, dst_label))
        edges += [[src_label, ids[src_label][s], dst_label, ids[dst_label][d]]
                  for s, d in zip(src.tolist(), dst.tolist())]
    return nodes, edges


def _matrix(rows: list[dict], user: bool, id_list: list[str], dim: int):
    """The ``[len(id_list), dim]`` float32 tensor of the rows of users (or tracks), in id order."""
    import torch

    index = {node_id: k for k, node_id in enumerate(id_list)}
    out = torch.zeros(len(id_list), dim, dtype=torch.float32)
    seen = 0
    for row in rows:
        if row["user"] == user and row["id"] in index:
            out[index[row["id"]]] = torch.tensor(row["embedding"], dtype=torch.float32)
            seen += 1
    if seen != len(id_list):
        what = "users" if user else "tracks"
        raise ExportError(f"FastRP returned vectors for {seen} of {len(id_list)} {what}")
    return out
