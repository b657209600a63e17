"""Lyrics → 8-d VADER sentiment descriptor.

``[neg, neu, pos, compound]`` of the whole text (VADER's polarity scores: the three proportions
sum to 1, compound ∈ [-1, 1]), then over its non-empty lines ``l``:
``mean_l compound(l)``, ``std_l compound(l)``, the share of lines with compound ≥ 0.05 and the
share with compound ≤ -0.05 (VADER's own positive/negative thresholds).

VADER's negation and idiom checks lowercase the whole text again for every sentiment word, so a
whole text's score grew with the square of its length (2.5 of the 3.3 ms of a 300-word lyric);
:class:`WindowedAnalyzer` hands them only the words they read, with the same scores.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

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


class WindowedAnalyzer(SentimentIntensityAnalyzer):
    """VADER's analyser, whose negation and idiom checks of the word at ``i`` get the words
    ``i - 3 … i + 2`` instead of the whole text (which they lowercase entirely on every call).

    The scores are VADER's own: the checks read no word outside that window (the caller ensures
    ``i - start_i - 1 >= 0``, so no index wraps around), and the window's length tells them
    whether words ``i + 1`` and ``i + 2`` exist just as the whole list did.
    """

    @staticmethod
    def _negation_check(valence, words_and_emoticons, start_i, i):
        first = max(0, i - 3)
        return SentimentIntensityAnalyzer._negation_check(
            valence, words_and_emoticons[first:i + 3], start_i, i - first)

    @staticmethod
    def _special_idioms_check(valence, words_and_emoticons, i):
        first = max(0, i - 3)
        return SentimentIntensityAnalyzer._special_idioms_check(
            valence, words_and_emoticons[first:i + 3], i - first)


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return WindowedAnalyzer()


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
