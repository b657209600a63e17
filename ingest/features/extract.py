"""Run every chosen extractor of one media kind over a batch of its files."""

from __future__ import annotations

from pathlib import Path

from mmkg.config import MEDIA, MediaSettings
from mmkg.ingest.features.registry import chosen_extractors
from mmkg.ingest.featureset import FeatureSet


def extract(kind: str, paths: list[Path], track_ids: list[str],
            settings: MediaSettings = MEDIA) -> list[FeatureSet]:
    """Compute every feature of media ``kind`` that ``settings`` chooses (its ``features``) for
    files ``paths[i]`` of tracks ``track_ids[i]``, under the media limits ``settings``.

    Returns one :class:`FeatureSet` per chosen extractor of ``kind`` (registration order), rows
    in input order. Files should have passed :func:`mmkg.ingest.features.check_media`; a file that still
    fails to decode raises the decoder's error.

    Raises:
        ValueError: unknown ``kind`` or feature name, or ``paths`` and ``track_ids`` of
            different lengths.
    """
    found = chosen_extractors(kind, settings)
    if len(paths) != len(track_ids):
        raise ValueError(f"{len(paths)} paths for {len(track_ids)} track ids")
    paths = [Path(p) for p in paths]
    return [e.spec.feature_set(track_ids, e.compute(paths, settings)) for e in found]
