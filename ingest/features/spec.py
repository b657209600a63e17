"""What every extractor declares about the vectors it makes: :class:`FeatureSpec`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmkg.ingest.featureset import FeatureSet
from mmkg.schema import Modality


@dataclass(frozen=True)
class FeatureSpec:
    """Feature ``name`` of modality ``kind``, ``dim`` floats computed from a ``media`` file (a
    registered media kind, e.g. ``"lyrics"``) by ``extractor`` at ``version`` (bump the version
    whenever the recipe changes)."""

    name: str
    kind: Modality
    media: str
    extractor: str
    version: str
    dim: int

    def feature_set(self, track_ids: list[str], vectors: np.ndarray) -> FeatureSet:
        """Wrap ``vectors`` (``[len(track_ids), dim]``) checked to be finite float32.

        Raises:
            ValueError: wrong shape or non-finite values (an extractor bug, never bad data).
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(track_ids), self.dim):
            raise ValueError(f"{self.name}: expected shape {(len(track_ids), self.dim)}, "
                             f"got {vectors.shape}")
        if not np.isfinite(vectors).all():
            raise ValueError(f"{self.name}: extractor produced non-finite values")
        return FeatureSet(name=self.name, kind=self.kind, extractor=self.extractor,
                          version=self.version, source=self.media, track_ids=list(track_ids),
                          vectors=vectors)
