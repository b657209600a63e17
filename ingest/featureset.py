"""A batch of feature vectors of one kind for many tracks: what extractors return and writers take."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mmkg.schema import Modality


@dataclass
class FeatureSet:
    """Vectors ``vectors[i]`` of feature ``name`` for track ``track_ids[i]``.

    Written as ``(:Track {id})-[:HAS_FEATURE]->(:Feature:<kind> {id: feature_id(track, name),
    name, dim, vector, extractor, version, source})``, plus the readable scalars of
    :meth:`summaries` when its extractor has a summariser.
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

    def summaries(self) -> list[dict[str, float | str]]:
        """Per vector, the readable scalars its extractor reads off it (``{}`` each when the
        feature has no summariser registered for this ``name`` and ``version``)."""
        summarise = SUMMARISERS.get((self.name, self.version))
        if summarise is None:
            return [{} for _ in self.track_ids]
        return [{str(k): v for k, v in summarise(vector).items()} for vector in self.vectors]


Summariser = Callable[[np.ndarray], "dict[str, float | str]"]
SUMMARISERS: dict[tuple[str, str], Summariser] = {}
"""``(feature name, version) → summarise`` of the registered extractors that have one
(:func:`mmkg.ingest.features.registry.register_extractor` fills it): what
:meth:`FeatureSet.summaries` reads, so that writers need not know the extractors."""
