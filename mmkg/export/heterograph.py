"""``export_heterograph``: a selection of the MMKG → an :class:`ExportedGraph` folder (DGL
heterograph of the KG, id maps, relation index space, modality tensors, the interactions and
their leakage-free split, manifest), streamed so that memory does not grow with the listens."""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from neo4j import Driver

from mmkg import __version__
from mmkg.config import BATCH
from mmkg.errors import ExportError
from mmkg.export.exported import FORMAT, LISTENED_COLUMNS, ExportedGraph, listened_file, split_file
from mmkg.export.fastrp import FastRPConfig, add_fastrp
from mmkg.export.idmap import IdMap
from mmkg.export.neo4j import CanonicalEtype, GraphReader
from mmkg.export.npy_append import NpyAppender
from mmkg.export.selection import Selection
from mmkg.export.split import SplitConfig, SplitStream
from mmkg.export.staging import staged_folder
from mmkg.progress import progress_bar
from mmkg.schema import Label, RelType

log = logging.getLogger(__name__)

LISTENED_ETYPE: CanonicalEtype = (Label.USER.value, RelType.LISTENED.value, Label.TRACK.value)


def export_heterograph(
    driver: Driver,
    database: str,
    out: Path,
    *,
    selection: Selection | None = None,
    split: SplitConfig | None = None,
    seed: int = 0,
    progress: bool = True,
    source_uri: str | None = None,
    batch_size: int = BATCH.export,
    replace: bool = False,
    fastrp: FastRPConfig | None = None,
) -> ExportedGraph:
    """Stream ``selection`` (default: the whole graph) out of ``database`` into the export
    folder ``out``, split on the way, and return it loaded memory-mapped.

    Node types are the labels present (``Track`` and ``User`` always); node ``k`` of a label is
    ``id_maps[label][k]`` (ids sorted, numerically when all are integers, so indices are stable).
    ``graph.bin``'s edge types are the canonical ``(src_label, rel_type, dst_label)`` of every
    KG relationship found; ``relations`` lists them in sorted order. The interactions go, one
    chunk of ``batch_size`` users at a time, to ``listened/`` and through
    :class:`~mmkg.export.split.SplitStream` to ``split/``; the training interactions are
    ``split/train.npy``. ``fastrp``: also compute GDS FastRP vectors of the training graph.

    The folder is built next to ``out`` and moved in when complete
    (:func:`~mmkg.export.staging.staged_folder`): on any failure ``out`` is left as it was.
    ``source_uri`` (without credentials) is recorded in the manifest; the server address is
    recorded otherwise.

    Raises:
        ExportError: ``out`` is not empty and ``replace`` is false, the selection has no track,
            features are inconsistent, or the split's preconditions fail (e.g. ``time`` without
            timestamps).
    """
    selection = selection or Selection()
    split = split or SplitConfig()
    started = time.perf_counter()
    with staged_folder(Path(out), replace=replace) as staging:
        bar = progress_bar("ids", transient=True) if progress else None
        with bar if bar is not None else nullcontext():
            reader = GraphReader(driver, database, chunk_ids=batch_size, progress=bar)
            tracks = reader.tracks(selection)
            if not len(tracks):
                raise ExportError("no track has a listen yet: ingest listens (a catalog's "
                                  "interactions) first" if selection.every_listened_track else
                                  f"the selection matched no track: {reader.why_no_track(selection)}")
            unlistened = reader.unlistened_tracks() if selection.listened else None
            users = reader.users(selection, tracks)
            nodes = reader.kg_nodes(selection, tracks)
            kg_edges = reader.kg_edges(nodes)
            interactions, split_sizes = _stream_listens(reader, users, tracks, split, seed, staging)
            modalities = reader.modalities(tracks)
        log.info("read %d tracks, %d users, %d interactions, %d KG edges in %.1fs", len(tracks),
                 len(users), interactions, sum(len(s) for s, _ in kg_edges.values()),
                 time.perf_counter() - started)
        id_maps = {**{label: m.ids for label, m in nodes.items()}, Label.USER.value: users.ids}
        graph = _heterograph({**nodes, Label.USER.value: users}, kg_edges)
        manifest = {
            "format": FORMAT,
            "mmkg_version": __version__,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "source": {**_source(driver, source_uri), "database": database},
            "selection": selection.to_manifest(),
            "split": split.to_manifest(),
            "seed": seed,
            "counts": _counts(id_maps, graph, interactions, split_sizes, unlistened),
            "modalities": {name: {"kind": m["kind"], "dim": int(m["values"].shape[1]),
                                  "present": int(m["mask"].sum())} for name, m in modalities.items()},
            "queries": sorted(reader.queries_used),
        }
        exported = ExportedGraph(graph=graph, id_maps=id_maps, relations=list(kg_edges),
                                 modalities=_tensors(modalities), split={}, manifest=manifest)
        if fastrp is not None:
            exported.split = {"train": np.load(split_file(staging, "train"), mmap_mode="r")}
            add_fastrp(exported, driver, database, fastrp)
        exported.manifest["seconds"] = round(time.perf_counter() - started, 2)
        exported.save_metadata(staging)
    return ExportedGraph.load(out, mmap=True)


def _stream_listens(reader: GraphReader, users: IdMap, tracks: IdMap, split: SplitConfig, seed: int,
                    folder: Path) -> tuple[int, dict[str, int]]:
    """Append every chunk of interactions to ``listened/`` and split it into ``split/``;
    returns the interaction count and the part sizes."""
    listened_file(folder, "user").parent.mkdir()
    columns = {name: NpyAppender(listened_file(folder, name), dtype)
               for name, dtype in LISTENED_COLUMNS.items()}
    stream = SplitStream(split_file(folder, "train").parent, split, seed, len(users), len(tracks))
    for chunk in reader.listen_chunks(users, tracks):
        for name, column in columns.items():
            column.append(getattr(chunk, name))
        stream.add(chunk.user, chunk.track, chunk.ts)
    for column in columns.values():
        column.close()
    if stream.saturated:
        n = len(stream.saturated)
        named = ", ".join(repr(users.ids[u]) for u in stream.saturated[:5]) + \
            (f" and {n - 5:,} more" if n > 5 else "")
        log.warning("%s listened to every exported track, so no CTR negative could be drawn for %s",
                    f"user {named}" if n == 1 else f"{n:,} users ({named})", "it" if n == 1 else "them")
    return columns["user"].rows, stream.close()


def _counts(id_maps: dict[str, list[str]], graph: Any, interactions: int,
            split_sizes: dict[str, int], unlistened: int | None) -> dict[str, Any]:
    """The manifest's ``counts``: nodes per label, edges per type, interactions, split parts,
    and, for a ``listened`` selection, ``unlistened_tracks``: the graph's tracks nobody has
    listened to (all left out)."""
    counts = {"nodes": {label: len(ids) for label, ids in sorted(id_maps.items())},
              "edges": [[*etype, int(graph.num_edges(etype))] for etype in graph.canonical_etypes],
              "interactions": interactions,
              "split": dict(sorted(split_sizes.items()))}
    return counts if unlistened is None else {**counts, "unlistened_tracks": unlistened}


def _heterograph(nodes: dict[str, IdMap], kg_edges: dict[CanonicalEtype, tuple[np.ndarray, np.ndarray]]):
    """The KG heterograph, plus ``(User, LISTENED, Track)`` without edges (DGL needs an edge
    type even when the KG has none; the interactions are ``listened/`` and ``split/``)."""
    import dgl
    import torch

    data = {etype: (torch.from_numpy(src), torch.from_numpy(dst))
            for etype, (src, dst) in kg_edges.items()}
    empty = torch.zeros(0, dtype=torch.int64)
    data[LISTENED_ETYPE] = (empty, empty)
    return dgl.heterograph(data, num_nodes_dict={label: len(m) for label, m in nodes.items()})


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
