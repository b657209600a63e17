"""``export_heterograph``: a selection of the MMKG → an :class:`ExportedGraph` (DGL heterograph,
id maps, relation index space, modality tensors, leakage-free split, manifest)."""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from neo4j import Driver

from mmkg import __version__
from mmkg.config import BATCH
from mmkg.errors import ExportError
from mmkg.export.exported import ExportedGraph
from mmkg.export.idmap import IdMap
from mmkg.export.neo4j import CanonicalEtype, GraphReader, Listens
from mmkg.export.selection import Selection
from mmkg.export.split import SplitConfig, split_interactions
from mmkg.progress import progress_bar
from mmkg.schema import Label, RelType

log = logging.getLogger(__name__)

LISTENED_ETYPE: CanonicalEtype = (Label.USER.value, RelType.LISTENED.value, Label.TRACK.value)


def export_heterograph(
    driver: Driver,
    database: str,
    *,
    selection: Selection | None = None,
    split: SplitConfig | None = None,
    seed: int = 0,
    progress: bool = True,
    source_uri: str | None = None,
    batch_size: int = BATCH.export,
) -> ExportedGraph:
    """Stream ``selection`` (default: the whole graph) out of ``database`` and split it.

    Node types are the labels present (``Track`` and ``User`` always); node ``k`` of a label is
    ``id_maps[label][k]`` (ids sorted, numerically when all are integers, so indices are stable).
    Edge types are the canonical ``(src_label, rel_type, dst_label)`` of every KG relationship
    found, plus ``(User, LISTENED, Track)`` holding the **training** interactions only, with edge
    data ``plays`` (float32) and ``ts`` (float64 epoch seconds) when any interaction has them
    (NaN where absent). ``relations`` lists the KG canonical edge types in sorted order.

    ``source_uri`` (without credentials) is recorded in the manifest; the server address is
    recorded otherwise. ``batch_size``: node ids per read query.

    Raises:
        ExportError: the selection has no track, features are inconsistent, or the split's
            preconditions fail (e.g. ``time`` without timestamps).
    """
    selection = selection or Selection()
    split = split or SplitConfig()
    started = time.perf_counter()
    bar = progress_bar("ids", transient=True) if progress else None
    with bar if bar is not None else nullcontext():
        reader = GraphReader(driver, database, chunk_ids=batch_size, progress=bar)
        tracks = reader.tracks(selection)
        if not len(tracks):
            raise ExportError(f"the selection matched no track: {selection.to_manifest()}")
        users = reader.users(selection, tracks)
        nodes = reader.kg_nodes(selection, tracks)
        kg_edges = reader.kg_edges(nodes)
        listens = reader.listens(users, tracks)
        modalities = reader.modalities(tracks)
    log.info("read %d tracks, %d users, %d interactions, %d KG edges in %.1fs", len(tracks),
             len(users), len(listens.user), sum(len(s) for s, _ in kg_edges.values()),
             time.perf_counter() - started)

    parts = split_interactions(listens.user, listens.track, listens.ts, len(tracks), split, seed)
    id_maps = {**{label: m.ids for label, m in nodes.items()}, Label.USER.value: users.ids}
    graph = _heterograph({**nodes, Label.USER.value: users}, kg_edges, listens, parts.rows["train"])
    split_arrays = parts.arrays(listens.user, listens.track)
    modality_tensors = _tensors(modalities)
    manifest = {
        "mmkg_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": {**_source(driver, source_uri), "database": database},
        "selection": selection.to_manifest(),
        "split": split.to_manifest(),
        "seed": seed,
        "counts": {
            "nodes": {label: len(ids) for label, ids in sorted(id_maps.items())},
            "edges": [[*etype, int(graph.num_edges(etype))] for etype in graph.canonical_etypes],
            "interactions": int(len(listens.user)),
            "split": {name: int(len(a)) for name, a in sorted(split_arrays.items())},
        },
        "modalities": {name: {"kind": m["kind"], "dim": int(m["values"].shape[1]),
                              "present": int(m["mask"].sum())} for name, m in modalities.items()},
        "queries": sorted(reader.queries_used),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return ExportedGraph(graph=graph, id_maps=id_maps, relations=list(kg_edges),
                         modalities=modality_tensors, split=split_arrays, manifest=manifest)


def _heterograph(nodes: dict[str, IdMap], kg_edges: dict[CanonicalEtype, tuple[np.ndarray, np.ndarray]],
                 listens: Listens, train_rows: np.ndarray):
    import dgl
    import torch

    data = {etype: (torch.from_numpy(src), torch.from_numpy(dst))
            for etype, (src, dst) in kg_edges.items()}
    train_rows = np.sort(train_rows)
    data[LISTENED_ETYPE] = (torch.from_numpy(listens.user[train_rows]),
                            torch.from_numpy(listens.track[train_rows]))
    graph = dgl.heterograph(data, num_nodes_dict={label: len(m) for label, m in nodes.items()})
    for name, values, dtype in (("plays", listens.plays, torch.float32),
                                ("ts", listens.ts, torch.float64)):
        if not np.isnan(values).all():
            graph.edges[LISTENED_ETYPE].data[name] = torch.as_tensor(values[train_rows], dtype=dtype)
    return graph


def _tensors(modalities: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    import torch

    return {name: {"kind": m["kind"], "values": torch.from_numpy(m["values"]),
                   "mask": torch.from_numpy(m["mask"])} for name, m in modalities.items()}


def _source(driver: Driver, source_uri: str | None) -> dict[str, str]:
    """Where the data came from, never with credentials."""
    if source_uri:
        parts = urlsplit(source_uri)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return {"uri": urlunsplit((parts.scheme, netloc, parts.path, "", ""))}
    info = driver.get_server_info()
    return {"address": str(info.address), "agent": info.agent}
