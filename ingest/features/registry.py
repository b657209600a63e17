"""The modality registry: media kind → how its files are checked, and the extractors that read them.

A *media kind* (``lyrics``, ``cover``, ``audio``) is a file a catalog track may reference; its
name is the catalog's ``tracks`` column, the ``Track`` property holding the file's absolute path,
and an ``mmkg features --only`` choice. An *extractor* turns files of one media kind into one
feature, described by its :class:`~mmkg.ingest.features.spec.FeatureSpec` (name, modality label,
dimension, version). Both register with a decorator in their own module::

    @register_media("lyrics", "expected a non-empty UTF-8 text file")
    def check_lyrics(path: Path, settings: MediaSettings) -> str | None: ...

    @register_extractor(SPEC)                       # SPEC.media == "lyrics"
    def embed_files(paths: list[Path], settings: MediaSettings) -> np.ndarray: ...

Both are :class:`~mmkg.registry.Registry` entries (:data:`MEDIA_KINDS`, :data:`EXTRACTORS`), whose first
lookup imports :mod:`mmkg.ingest.features` and so registers the built-in modules; the catalog
columns, the CLI choices and the feature specs are all read from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmkg.config import MediaSettings
from mmkg.ingest.features.spec import FeatureSpec
from mmkg.ingest.featureset import SUMMARISERS
from mmkg.registry import Registry

Check = Callable[[Path, MediaSettings], "str | None"]
"""Given an existing regular file within its size cap, and the media limits in effect: ``None``
when it decodes, else why not (a short phrase)."""
Compute = Callable[[list[Path], MediaSettings], np.ndarray]
"""Given files of one media kind (checked under the media limits, also given): their vectors
``[len(paths), spec.dim]``."""
WarmUp = Callable[[], None]
"""Does, in the calling process, what the extractor's first call would do in every worker at
once on a first run: compile its JIT code (and write numba's cache), build its model file."""


@dataclass(frozen=True)
class MediaKind:
    """A kind of media file: its name, what a valid file is, and the check that says so."""

    name: str
    expected: str
    """What a valid file is, as problems word it: ``"expected a readable image file"``."""
    check: Check


@dataclass(frozen=True)
class Extractor:
    """One feature computed from files of ``spec.media``."""

    spec: FeatureSpec
    compute: Compute
    warm_up: WarmUp | None = None
    """Compiles the extractor's JIT code or builds its model in the calling process (see
    :func:`~mmkg.ingest.features.jobs.warm_up_extractors`); ``None`` when it has none."""
    default: bool = True
    """Computed unless the ``media.features`` setting names the features to compute; an
    alternative recipe of a default feature registers with ``False`` (opt-in)."""


MEDIA_KINDS: Registry[MediaKind] = Registry("media kind", builtins="mmkg.ingest.features")
"""Registered media kinds by name, in registration order."""
EXTRACTORS: Registry[Extractor] = Registry("feature", builtins="mmkg.ingest.features")
"""Registered extractors by feature name (unique across media kinds), in registration order."""


def register_media(name: str, expected: str) -> Callable[[Check], Check]:
    """Function decorator: register the check of media kind ``name`` (names are unique)."""
    return lambda check: MEDIA_KINDS.add(name, MediaKind(name, expected, check)).check


def register_extractor(spec: FeatureSpec, *, warm_up: WarmUp | None = None,
                       default: bool = True) -> Callable[[Compute], Compute]:
    """Function decorator: register ``compute`` as the extractor of feature ``spec``
    (feature names are unique across media kinds), with its ``warm_up`` if it has one;
    ``default=False`` makes it opt-in (see :func:`chosen_extractors`)."""

    def add(compute: Compute) -> Compute:
        EXTRACTORS.add(spec.name, Extractor(spec, compute, warm_up, default))
        if spec.summarise is not None:
            SUMMARISERS[(spec.name, spec.version)] = spec.summarise
        return compute

    return add


def extractors(media: str) -> tuple[Extractor, ...]:
    """The extractors of media kind ``media``, in registration order.

    Raises:
        UnknownName: ``media`` is not a registered media kind.
    """
    MEDIA_KINDS.get(media)
    return tuple(e for e in EXTRACTORS.values() if e.spec.media == media)


def feature_specs() -> dict[str, tuple[FeatureSpec, ...]]:
    """``{media kind: the specs of its features}`` for every registered media kind."""
    return {media: tuple(e.spec for e in extractors(media)) for media in MEDIA_KINDS.names()}


def chosen_extractors(media: str, settings: MediaSettings) -> tuple[Extractor, ...]:
    """The extractors of media kind ``media`` that ``settings`` has mmkg compute: those named
    in ``settings.features``, or the default ones when it is ``None``; registration order.

    Raises:
        UnknownName: ``media`` is not a registered media kind, or ``settings.features`` names a
            feature no extractor registers.
    """
    if settings.features is not None:
        for name in settings.features:
            EXTRACTORS.get(name)
    return tuple(e for e in extractors(media) if _chosen(e, settings))


def left_out_features(media: str, settings: MediaSettings) -> tuple[str, ...]:
    """The registered features of media kind ``media`` that ``settings`` does not have mmkg
    compute (the complement of :func:`chosen_extractors`)."""
    chosen = {e.spec.name for e in chosen_extractors(media, settings)}
    return tuple(e.spec.name for e in extractors(media) if e.spec.name not in chosen)


def _chosen(extractor: Extractor, settings: MediaSettings) -> bool:
    if settings.features is None:
        return extractor.default
    return extractor.spec.name in settings.features
