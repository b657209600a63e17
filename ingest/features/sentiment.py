"""Lyrics → 8-d VADER sentiment descriptor.

``[neg, neu, pos, compound]`` of the whole text (VADER's polarity scores: the three proportions
sum to 1, compound ∈ [-1, 1]), then over its non-empty lines ``l``:
``mean_l compound(l)``, ``std_l compound(l)``, the share of lines with compound ≥ 0.05 and the
share with compound ≤ -0.05 (VADER's own positive/negative thresholds).
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np

from mmkg.config import MediaSettings
from mmkg.ingest.features.media import read_lyrics
from mmkg.ingest.features.registry import register_extractor
from mmkg.ingest.features.spec import FeatureSpec
from mmkg.schema import Modality, Prop



def summary(vector: np.ndarray) -> dict[str, float]:
    """The readable value of one descriptor: ``sentiment_compound``, VADER's compound score of
    the whole text (slice 3)."""
    return {Prop.SENTIMENT_COMPOUND: round(float(vector[3]), 4)}


SPEC = FeatureSpec(
    name="lyrics_vader", kind=Modality.SENTIMENT, media="lyrics",
    extractor="vaderSentiment", version=f"{version('vaderSentiment')}+mmkg1", dim=8,
    summarise=summary,
)
THRESHOLD = 0.05


@cache
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score(texts: list[str]) -> np.ndarray:
    """The descriptor above for each text: ``[len(texts), 8]`` float32."""
    analyzer = _analyzer()
    out = np.zeros((len(texts), SPEC.dim), dtype=np.float32)
    for i, text in enumerate(texts):
        whole = analyzer.polarity_scores(text)
        lines = [line for line in text.splitlines() if line.strip()] or [text]
        per_line = np.array([analyzer.polarity_scores(line)["compound"] for line in lines])
        out[i] = [whole["neg"], whole["neu"], whole["pos"], whole["compound"],
                  per_line.mean(), per_line.std(),
                  (per_line >= THRESHOLD).mean(), (per_line <= -THRESHOLD).mean()]
    return out


@register_extractor(SPEC)
def score_files(paths: list[Path], settings: MediaSettings) -> np.ndarray:
    """:func:`score` of the lyrics files ``paths``."""
    return score([read_lyrics(p) for p in paths])
