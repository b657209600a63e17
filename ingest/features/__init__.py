"""Multi-modal feature extraction: lyrics (MiniLM text embedding + VADER sentiment), cover images
(colour/texture) and audio (librosa summary), written as ``:Feature`` nodes on tracks.

Public API (used by ``mmkg ingest`` and ``mmkg features``):

* :func:`check_media` — cheap "does this file decode" check used during catalog validation;
* :func:`extract` — media files of one kind → :class:`~mmkg.ingest.featureset.FeatureSet` list;
* :func:`compute_missing_features` — resumable computation of every feature a track lacks.

All models run offline on the CPU; nothing is fetched at run time.
"""

from mmkg.ingest.features.compute import compute_missing_features
from mmkg.ingest.features.extract import SPECS, extract
from mmkg.ingest.features.media import check_media
from mmkg.ingest.features.spec import MEDIA_KINDS, FeatureSpec, MediaKind

__all__ = [
    "check_media", "extract", "compute_missing_features",
    "SPECS", "MEDIA_KINDS", "FeatureSpec", "MediaKind",
]
