"""The modality registry: media kind → how its files are checked, and the extractors that read them.

A *media kind* (``lyrics``, ``cover``, ``audio``) is a file a catalog track may reference; its
name is the catalog's ``tracks`` column, the ``Track`` property holding the file's absolute path,
and an ``mmkg features --only`` choice. An *extractor* turns files of one media kind into one
feature, described by its :class:`~mmkg.ingest.features.spec.FeatureSpec` (name, modality label,
dimension, version). Both register with a decorator in their own module::

    @register_media("lyrics", "expected a non-empty UTF-8 text file")
    def check_lyrics(path: Path, settings: MediaSettings) -> str | None: ...

    @register_extractor(SPEC)                       # SPEC.media == "lyrics"
    def embed_files(paths: list[Path]) -> np.ndarray: ...

Importing :mod:`mmkg.ingest.features` imports the built-in modules and so registers them; the
catalog columns, the CLI choices and the feature specs are all read from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmkg.config import MediaSettings
from mmkg.ingest.features.spec import FeatureSpec
from mmkg.ingest.featureset import SUMMARISERS

Check = Callable[[Path, MediaSettings], "str | None"]
"""Given an existing regular file within its size cap, and the media limits in effect: ``None``
when it decodes, else why not (a short phrase)."""
Compute = Callable[[list[Path]], np.ndarray]
"""Given files of one media kind: their vectors ``[len(paths), spec.dim]``."""
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


MEDIA: dict[str, MediaKind] = {}
"""Registered media kinds by name, in registration order."""
EXTRACTORS: dict[str, list[Extractor]] = {}
"""Registered extractors by media kind, in registration order."""


def register_media(name: str, expected: str) -> Callable[[Check], Check]:
    """Function decorator: register the check of media kind ``name`` (names are unique)."""

    def add(check: Check) -> Check:
        if name in MEDIA and MEDIA[name].check is not check:
            raise ValueError(f"media kind {name!r} is already registered")
        MEDIA[name] = MediaKind(name, expected, check)
        return check

    return add


def register_extractor(spec: FeatureSpec, *,
                       warm_up: WarmUp | None = None) -> Callable[[Compute], Compute]:
    """Function decorator: register ``compute`` as the extractor of feature ``spec``
    (feature names are unique across media kinds), with its ``warm_up`` if it has one."""

    def add(compute: Compute) -> Compute:
        for extractors in EXTRACTORS.values():
            if any(e.spec.name == spec.name and e.compute is not compute for e in extractors):
                raise ValueError(f"feature {spec.name!r} is already registered")
        known = EXTRACTORS.setdefault(spec.media, [])
        if all(e.spec.name != spec.name for e in known):
            known.append(Extractor(spec, compute, warm_up))
        if spec.summarise is not None:
            SUMMARISERS[(spec.name, spec.version)] = spec.summarise
        return compute

    return add


def media_kind(name: str) -> MediaKind:
    """The registered media kind ``name``.

    Raises:
        ValueError: unknown name.
    """
    _load_builtins()
    if name not in MEDIA:
        raise ValueError(f"unknown media kind {name!r}; expected one of {', '.join(MEDIA)}")
    return MEDIA[name]


def media_kinds() -> tuple[str, ...]:
    """Every registered media kind, in registration order."""
    _load_builtins()
    return tuple(MEDIA)


def extractors(media: str) -> tuple[Extractor, ...]:
    """The extractors of media kind ``media`` (raises ``ValueError`` when it is unknown)."""
    media_kind(media)
    return tuple(EXTRACTORS.get(media, ()))


def feature_specs() -> dict[str, tuple[FeatureSpec, ...]]:
    """``{media kind: the specs of its features}`` for every registered media kind."""
    return {media: tuple(e.spec for e in extractors(media)) for media in media_kinds()}


def _load_builtins() -> None:
    import mmkg.ingest.features  # noqa: F401  (registers the built-in media kinds and extractors)
