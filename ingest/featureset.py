"""A batch of feature vectors of one kind for many tracks: what extractors return and writers take."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmkg.schema import Modality


@dataclass
class FeatureSet:
    """Vectors ``vectors[i]`` of feature ``name`` for track ``track_ids[i]``.

    Written as ``(:Track {id})-[:HAS_FEATURE]->(:Feature:<kind> {id: feature_id(track, name),
    name, dim, vector, extractor, version, source})``.
    """

    name: str
    kind: Modality
    extractor: str
    version: str
    source: str
    track_ids: list[str]
    vectors: np.ndarray  # float32 [len(track_ids), dim]

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])
