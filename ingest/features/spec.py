"""What every extractor declares about the vectors it makes: :class:`FeatureSpec`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mmkg.ingest.featureset import FeatureSet
from mmkg.schema import Modality


@dataclass(frozen=True)
class FeatureSpec:
    """Feature ``name`` of modality ``kind``, ``dim`` floats computed from a ``media`` file (a
    registered media kind, e.g. ``"lyrics"``) by ``extractor`` at ``version`` (bump the version
    whenever the recipe changes), and the readable summaries ``summarise`` reads off a vector."""

    name: str
    kind: Modality
    media: str
    extractor: str
    version: str
    dim: int
    summarise: Callable[[np.ndarray], dict[str, float | str]] | None = field(
        default=None, compare=False)
    """Readable scalars of one vector (``{mmkg.schema.Prop: value}``, e.g. tempo in BPM), stored
    on the Feature node beside the vector; ``None`` when the feature has none."""

    def summary(self, vector: np.ndarray) -> dict[str, float | str]:
        """:attr:`summarise` of ``vector`` (``{}`` without one)."""
        return self.summarise(vector) if self.summarise else {}

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
