"""What every catalog reader returns and the writers take: node and relationship tables, feature sets."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from mmkg.ingest.featureset import FeatureSet
from mmkg.schema import Label, RelType


def property_frame(columns: dict[str, pd.Series | list]) -> pd.DataFrame:
    """A frame whose columns are plain Python objects, with ``None`` for missing values.

    Writers turn each row into ``{"id": ..., "props": {non-missing columns}}``; ``None`` and NaN
    are left out so that a missing cell never erases a node's property written earlier (and
    never stores a null). A relationship's properties are replaced by its row's
    (``cypher/merge_relationships_props.cypher``): it is one row.
    """
    frame = pd.DataFrame({k: pd.Series(v).reset_index(drop=True) for k, v in columns.items()})
    return frame.astype(object).where(frame.notna(), None)


@dataclass
class NodeSet:
    """Nodes of one label: column ``id`` (str) and one column per property."""

    label: Label
    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)


@dataclass
class RelSet:
    """Relationships of one type between two labels: columns ``src``, ``dst`` and properties."""

    rel_type: str
    src: Label
    dst: Label
    frame: pd.DataFrame
    replaces: bool = False
    """Each ``src`` holds one such relationship to a ``dst`` node (a column of its row, e.g. a
    track's genre): writing it deletes the ``src``'s others of this type to ``dst`` nodes."""

    def __len__(self) -> int:
        return len(self.frame)


@dataclass
class GraphData:
    """Everything one catalog adds to the graph, in write order: nodes, relationships, features."""

    nodes: list[NodeSet] = field(default_factory=list)
    relationships: list[RelSet] = field(default_factory=list)
    features: list[FeatureSet] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    """Rows left out on purpose by the format's rules (not errors), by reason."""
    columns_left_out: dict[str, str] = field(default_factory=dict)
    """Columns of the input that no node or relationship holds: ``"<file>: '<column>'"`` → why."""

    def node_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for s in self.nodes:
            counts[s.label.value] += len(s)
        for f in self.features:
            counts[f"{Label.FEATURE.value}:{f.kind.value}"] += len(f.track_ids)
        return dict(counts)

    def relationship_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for s in self.relationships:
            counts[s.rel_type] += len(s)
        n_features = sum(len(f.track_ids) for f in self.features)
        if n_features:
            counts[RelType.HAS_FEATURE.value] += n_features
        return dict(counts)
