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
itself**, passed as query parameters: every exported node (numbered by the export's id maps),
the training pairs (``split["train"]``) and the export's KG edges — never from the database's
nodes or relationships, so no validation or test interaction reaches GDS, and FastRP's seeded
random vectors depend on the export alone, not on the database's internal node ids
(``cypher/gds_project_training_graph.cypher``). The graph is undirected, projected under a
unique name and always dropped afterwards.
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
    (``topk-801010``, split seed 0) validation Recall@20, averaged over 3 FastRP seeds
    (``bench/fastrp.py``): the even hops 2 and 4 (tracks sharing listeners or KG neighbours)
    carry the signal — weights (0, 1, 1) at 256 dims 0.318; (0, 0, 1, 0, 1) 0.332 at 512 and at
    1024 dims; (0, 0, 1, 0.5, 1) 0.336 at 2048 — and beyond 512 dims the differences stay within
    the seed noise (±0.003), so the cheapest of the tied settings is the default."""

    model_config = ConfigDict(frozen=True)

    dim: int = Field(512, ge=1)
    """``embeddingDimension``."""
    iteration_weights: tuple[float, ...] = (0.0, 0.0, 1.0, 0.0, 1.0)
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
    config plus the projection's counts, which it returns. The same export and config give the
    same vectors on any server.

    Raises:
        ExportError: GDS did not answer for every user and track.
        DatabaseError: Neo4j refused a query (e.g. GDS is not installed).
    """
    config = config or FastRPConfig()
    started = time.perf_counter()
    n_nodes, edges = _training_graph(exported)
    n_vectors = exported.num_users + exported.num_tracks
    graph_name = f"mmkg-fastrp-{uuid.uuid4().hex}"
    projected = read_named(driver, database, "gds_project_training_graph", graph_name=graph_name,
                           n_nodes=n_nodes, edges=edges.tolist())[0]["projection"]
    try:
        rows = read_named(driver, database, "gds_fastrp_stream", graph_name=graph_name,
                          n_vectors=n_vectors, dim=config.dim,
                          iteration_weights=list(config.iteration_weights),
                          normalization_strength=config.normalization_strength,
                          node_self_influence=config.node_self_influence, seed=config.seed)
    finally:
        read_named(driver, database, "gds_drop_graph", graph_name=graph_name)
    vectors = _matrix(rows, n_vectors, config.dim)
    exported.fastrp = {"user": vectors[:exported.num_users], "track": vectors[exported.num_users:]}
    summary = {**config.to_manifest(), "nodes": projected["nodeCount"],
               "relationships": projected["relationshipCount"],
               "seconds": round(time.perf_counter() - started, 2)}
    exported.manifest["fastrp"] = summary
    log.info("FastRP (dim %d) on %d nodes / %d relationships in %.1fs", config.dim,
             summary["nodes"], summary["relationships"], summary["seconds"])
    return summary


def _training_graph(exported: ExportedGraph) -> tuple[int, np.ndarray]:
    """The node count and the int64 ``[n_edges, 2]`` edges of ``exported``'s training graph.

    Nodes are numbered users first, then tracks (so node ``n_users + t`` is track ``t``), then
    the other KG labels in sorted order; edges are the training pairs and every KG edge.
    """
    users, tracks = Label.USER.value, Label.TRACK.value
    order = [users, tracks, *sorted(set(exported.id_maps) - {users, tracks})]
    offsets = dict(zip(order, np.cumsum([0] + [len(exported.id_maps[lab]) for lab in order])))
    train = np.asarray(exported.split["train"], dtype=np.int64).reshape(-1, 2)
    parts = [np.stack([train[:, 0] + offsets[users], train[:, 1] + offsets[tracks]], 1)]
    for src_label, rel, dst_label in exported.relations:
        src, dst = (t.numpy().astype(np.int64) for t in
                    exported.graph.edges(etype=(src_label, rel, dst_label)))
        parts.append(np.stack([src + offsets[src_label], dst + offsets[dst_label]], 1))
    n_nodes = int(sum(len(ids) for ids in exported.id_maps.values()))
    return n_nodes, np.concatenate(parts)


def _matrix(rows: list[dict], n_vectors: int, dim: int):
    """The float32 ``[n_vectors, dim]`` tensor of the streamed rows, row = node number."""
    import torch

    out = torch.zeros(n_vectors, dim, dtype=torch.float32)
    nodes = [row["node"] for row in rows]
    if sorted(nodes) != list(range(n_vectors)):
        raise ExportError(f"FastRP returned {len(set(nodes))} vectors for {n_vectors} users and tracks")
    out[torch.as_tensor(nodes)] = torch.tensor([row["embedding"] for row in rows], dtype=torch.float32)
    return out
