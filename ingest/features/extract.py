"""Dispatch a batch of media files of one kind to the extractors that read that kind."""

from __future__ import annotations

from pathlib import Path

from mmkg.ingest.features import audio, image, sentiment, text
from mmkg.ingest.features.media import read_lyrics
from mmkg.ingest.features.spec import MEDIA_KINDS, FeatureSpec
from mmkg.ingest.featureset import FeatureSet

#: The features computed from each media kind (lyrics feed two extractors).
SPECS: dict[str, tuple[FeatureSpec, ...]] = {
    "lyrics": (text.SPEC, sentiment.SPEC),
    "cover": (image.SPEC,),
    "audio": (audio.SPEC,),
}


def extract(kind: str, paths: list[Path], track_ids: list[str]) -> list[FeatureSet]:
    """Compute every feature of media ``kind`` for files ``paths[i]`` of tracks ``track_ids[i]``.

    Returns one :class:`FeatureSet` per feature in ``SPECS[kind]``, rows in input order.
    Files should have passed :func:`mmkg.ingest.features.check_media`; a file that still fails to
    decode raises the decoder's error.

    Raises:
        ValueError: unknown ``kind``, or ``paths`` and ``track_ids`` of different lengths.
    """
    if kind not in MEDIA_KINDS:
        raise ValueError(f"unknown media kind {kind!r}; expected one of {', '.join(MEDIA_KINDS)}")
    if len(paths) != len(track_ids):
        raise ValueError(f"{len(paths)} paths for {len(track_ids)} track ids")
    paths = [Path(p) for p in paths]
    if kind == "lyrics":
        texts = [read_lyrics(p) for p in paths]
        return [text.SPEC.feature_set(track_ids, text.embed(texts)),
                sentiment.SPEC.feature_set(track_ids, sentiment.score(texts))]
    if kind == "cover":
        return [image.SPEC.feature_set(track_ids, image.describe_many(paths))]
    return [audio.SPEC.feature_set(track_ids, audio.describe_many(paths))]
