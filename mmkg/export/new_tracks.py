"""What the graph holds about tracks newer than an export: their KG edges to the entities the
export knows, and their feature vectors (``mmkg publish RUN --new-tracks``).

A track is **new** when it is in the graph but not among the export's ``Track`` ids. Its KG
relationships (both directions, ``cypher/new_tracks_kg_edges.cypher``) are kept when the other
end is a node of the export or another new track and the relation (the canonical edge type, as
the export's ``relations.json`` spells it) is one the export has; any other edge is skipped and
counted in :attr:`NewTracks.skipped_edges`. Features (``cypher/export_features.cypher``) are
kept for the names the export has, at the export's dimension.

New track ``j`` is Track index ``n_tracks + j`` of the export's index space, so an edge between
two new tracks names both that way (and is read once, from its start node).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from neo4j import Driver

from mmkg.config import BATCH
from mmkg.errors import ExportError
from mmkg.export.exported import ExportedGraph
from mmkg.export.neo4j import GraphReader
from mmkg.export.selection import Selection
from mmkg.graph import read_named
from mmkg.schema import KG_LABEL_NAMES, NON_KG_RELS, Label

log = logging.getLogger(__name__)


@dataclass
class NewTracks:
    """The new tracks of a graph relative to an export, in the export's index spaces.

    ``edges`` rows are ``(new track position j, relation index into the export's relations,
    neighbour label, neighbour index in that label)`` (the KG is undirected for the models); a
    neighbour that is a new track has label ``Track`` and index ``n_tracks + its position``.
    """

    ids: list[str]
    edges: list[tuple[int, int, str, int]] = field(default_factory=list)
    features: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """``{name: (values float32 [n_new, D], mask bool [n_new])}`` for the export's feature names."""
    skipped_edges: Counter = field(default_factory=Counter)
    """``{"<rel> <label>": count}`` of edges to nodes or through relations the export lacks."""

    def __len__(self) -> int:
        return len(self.ids)


def read_new_tracks(driver: Driver, database: str, export: ExportedGraph, *,
                    chunk_ids: int = BATCH.export) -> NewTracks:
    """The tracks of ``database`` that ``export`` lacks, with their KG edges and features
    (see the module docstring).

    Raises:
        ExportError: a new track's feature has another dimension than the export's.
    """
    known_tracks = export.id_maps.get(Label.TRACK.value, [])
    known = set(known_tracks)
    every = GraphReader(driver, database, chunk_ids=chunk_ids).tracks(Selection())
    new = NewTracks(ids=[t for t in every.ids if t not in known])
    if not new.ids:
        return new
    index = {label: {node_id: k for k, node_id in enumerate(ids)}
             for label, ids in export.id_maps.items()}
    index[Label.TRACK.value] = {**index.get(Label.TRACK.value, {}),
                                **{t: len(known_tracks) + j for j, t in enumerate(new.ids)}}
    position = {t: j for j, t in enumerate(new.ids)}
    relations = {tuple(r): k for k, r in enumerate(export.relations)}
    for start in range(0, len(new.ids), chunk_ids):
        chunk = new.ids[start:start + chunk_ids]
        [row] = read_named(driver, database, "new_tracks_kg_edges", ids=chunk,
                           kg_labels=KG_LABEL_NAMES, non_kg=sorted(NON_KG_RELS))
        for track, rel, direction, label, other in row["edges"]:
            outgoing = direction == "out"
            if not outgoing and label == Label.TRACK.value and other in position:
                continue  # between two new tracks: read from its start node
            etype = (Label.TRACK.value, rel, label) if outgoing else (label, rel, Label.TRACK.value)
            k, neighbour = relations.get(etype), index.get(label, {}).get(other)
            if k is None or neighbour is None:
                new.skipped_edges[f"{rel} {label}"] += 1
                continue
            new.edges.append((position[track], k, label, neighbour))
    new.features = _features(driver, database, export, new.ids, chunk_ids)
    return new


def _features(driver: Driver, database: str, export: ExportedGraph, ids: list[str],
              chunk_ids: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    position = {t: j for j, t in enumerate(ids)}
    out = {name: (np.zeros((len(ids), int(m["values"].shape[1])), dtype=np.float32),
                  np.zeros(len(ids), dtype=bool)) for name, m in export.modalities.items()}
    for start in range(0, len(ids), chunk_ids):
        [row] = read_named(driver, database, "export_features", ids=ids[start:start + chunk_ids])
        for track, name, vector in row["features"]:
            if name not in out:
                continue  # a feature the model was not trained with
            values, mask = out[name]
            if len(vector) != values.shape[1]:
                raise ExportError(f"track {track!r}: feature {name!r} has dimension {len(vector)}, "
                                  f"the export's has {values.shape[1]}")
            values[position[track]] = vector
            mask[position[track]] = True
    return out
