"""Typed model and training configuration, with documented defaults, loadable from TOML or YAML.

A config file may be flat or split into sections::

    # run.toml
    epochs = 20
    lr = 1e-3
    [model]
    model = "mkgcn"
    dim = 64

Defaults are the ranking MKGCN's (``model = "mkgcn"``, sampled softmax over shared uniform
negatives), chosen on Last.FM validation Recall@20 (BENCHMARKS.md). A *preset* is a named config
file in ``train/configs/`` read first (``--preset paper`` is the paper's MKGCN: pointwise BCE, one
negative per positive, KGCN tree, multi-head user aggregator, KGCN's Last.FM settings); a
``--config`` file and then flags override it.

Names that select a component (``model``, ``fusion``, ``aggregator``, ``user_agg``, ``loss``,
``negatives``) are checked against the registries of those components, so adding one never
touches this file.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from mmkg.errors import TrainError

TOPK = (1, 2, 5, 10, 20, 50, 100)
"""The cut-offs K of every top-K metric."""
PRESETS_DIR = Path(__file__).resolve().parent / "configs"
"""Named presets: ``<name>.toml``."""
MONITORS = ("auc", "f1", "recall@20", "ndcg@20")


def choices(kind: str) -> tuple[str, ...]:
    """Valid names of a registered component — ``model``, ``fusion``, ``aggregator``,
    ``user_agg``, ``loss`` or ``negatives`` — read from its registry (imported lazily: the
    registries import torch). The CLI's choices come from here too."""
    if kind == "model":
        from mmkg.train.model.registry import model_names

        return tuple(model_names())
    if kind == "fusion":
        from mmkg.train.model.fusion import FUSIONS

        return tuple(FUSIONS)
    if kind == "aggregator":
        from mmkg.train.model.kgconv import AGGREGATORS

        return tuple(AGGREGATORS)
    if kind == "user_agg":
        from mmkg.train.model.user import USER_AGGS

        return tuple(USER_AGGS)
    if kind == "loss":
        from mmkg.train.objectives import LOSSES

        return tuple(LOSSES)
    from mmkg.train.sampling import NEGATIVES

    return tuple(NEGATIVES)


def _check_name(kind: str, value: str) -> str:
    names = choices(kind)
    if value not in names:
        raise ValueError(f"unknown {kind} {value!r}; expected one of {', '.join(names)}")
    return value


def _registered_name(cls, v: str, info: ValidationInfo) -> str:
    """Field validator: the value must be registered under the field's name."""
    return _check_name(info.field_name, v)


class ModelConfig(BaseModel):
    """Hyperparameters of the model (what ``model.pt`` needs to rebuild the network)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # inf and nan refused

    model: str = "mkgcn"
    """A registered model: ``mkgcn`` (ranking MKGCN), ``mkgcn-paper`` (the paper's), ``kgcn``,
    baselines ``pop``, ``bpr`` (MF), ``lightgcn``, ``fastrp`` (GDS FastRP vectors of the export)."""
    dim: int = Field(64, ge=1, le=4096)
    """Embedding size d."""
    hops: int = Field(1, ge=0)
    """H: KG aggregation depth (``mkgcn``: 0 turns the KG off; the paper's tree needs ≥ 1)."""
    layers: int = Field(3, ge=0)
    """L: propagation layers over the user–item training graph (``mkgcn``, ``lightgcn``)."""
    modalities: bool = True
    """Use the export's modality vectors (False: no fusion layer at all)."""
    modality_names: list[str] | None = None
    """Subset of the export's feature names to use (None: all)."""
    fusion: str = "add"
    """Multi-modal fusion variant (``add`` for the ranking MKGCN; the paper's is ``residual``)."""
    id_dropout: float = Field(0.5, ge=0, lt=1)
    """``mkgcn`` — p: in each training step every item's layer-0 ID embedding is replaced by zeros
    with probability p, so that content and KG must carry it; with p > 0, items without a training
    listen (new tracks) always go without it (0: off, every item keeps its ID, and new tracks
    never reach a top-20 among listened ones). The default 0.5 was chosen on validation of
    ``bench/cold_start.py`` (BENCHMARKS.md, "Cold start"): cold and mixed ranking better on every
    dataset, warm ranking equal within a standard deviation."""
    neighbours: int = Field(8, ge=1)
    """``mkgcn-paper``/``kgcn`` — K: sampled (relation, neighbour) pairs per entity."""
    aggregator: str = "sum"
    """``mkgcn-paper``/``kgcn`` — how KGConv combines an entity with its neighbourhood."""
    activation: str = "relu"
    """``mkgcn-paper``/``kgcn`` — hidden KGConv activation (``relu`` or ``sigmoid``); the last is tanh."""
    user_agg: str = "multi-head"
    """``mkgcn-paper`` — user vector: self-attention over history, mean of history, or a learned
    user-ID embedding."""
    user_embedding: bool = False
    """``mkgcn-paper`` — add a learned user-ID embedding to the history-based user vector."""
    heads: int = Field(2, ge=1)
    """``mkgcn-paper`` — attention heads of the ``multi-head`` user aggregator (must divide ``dim``)."""
    history: int = Field(16, ge=1)
    """``mkgcn-paper`` — K_u: training history items sampled per user."""

    _names = field_validator("model", "fusion", "aggregator", "user_agg")(_registered_name)

    @field_validator("activation")
    @classmethod
    def _activation(cls, v: str) -> str:
        if v not in ("relu", "sigmoid"):
            raise ValueError(f"unknown activation {v!r}; expected relu or sigmoid")
        return v

    @model_validator(mode="after")
    def _heads(self) -> "ModelConfig":
        if self.model == "mkgcn-paper" and self.user_agg == "multi-head" and self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be a multiple of heads ({self.heads})")
        return self


class TrainConfig(BaseModel):
    """Optimisation, sampling and evaluation settings, plus the :class:`ModelConfig`."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # inf and nan refused

    model: ModelConfig = ModelConfig()
    epochs: int = Field(100, ge=0)
    batch_size: int = Field(1024, ge=1)
    """Positive interactions per step."""
    lr: float = Field(4e-3, gt=0)
    l2: float = Field(1e-4, ge=0)
    """Weight of the L2 term (vector models: ``Σ‖e‖²/(2B)`` over the batch's layer-0 rows;
    the paper's models: ``Σ p²/2`` over all parameters)."""
    loss: str = "softmax"
    """Objective: ``softmax`` (sampled softmax), ``bpr`` or ``bce`` (the paper's)."""
    negatives: str = "shared"
    """Negative sampler: ``shared`` (per batch), ``in-batch`` or ``ratio`` (per positive, per epoch)."""
    neg_ratio: int = Field(256, ge=1)
    """Negatives per positive (``shared``: drawn per batch and shared; ``in-batch``: unused)."""
    neg_alpha: float = 0.0
    """Negatives drawn with probability ∝ (train popularity + 1)^alpha; 0 = uniform."""
    neg_correction: bool = False
    """Sampled-softmax logQ correction (subtract ``τ log(N q_j)``) for non-uniform proposals."""
    temperature: float = Field(0.2, gt=0)
    """τ of the softmax and BPR objectives (logits are divided by it)."""
    patience: int = Field(10, ge=1)
    """Stop after this many epochs without improvement of ``monitor`` on validation."""
    monitor: str = "recall@20"
    """Validation metric used for model selection and early stopping."""
    valid_topk: bool = True
    """Top-K metrics on validation every epoch (False: CTR only per epoch; top-K at the end)."""
    eval_users: int = Field(256, ge=1)
    """Users per chunk when scoring all items (memory/speed trade-off only)."""
    valid_users: int = Field(5000, ge=0)
    """Validation top-K (selection, early stopping) ranks a seeded sample of this many of the
    users with a validation listen, the same users every epoch (``evaluate.valid_sample``); 0 =
    all. The default ranks all of Last.FM's 1,872 users, so its selection is unchanged, and 1 %
    of the users at 10M listens (500k users); test is always ranked for every user."""
    seed: int = 0

    _names = field_validator("loss", "negatives")(_registered_name)

    @field_validator("monitor")
    @classmethod
    def _monitor(cls, v: str) -> str:
        if v not in MONITORS:
            raise ValueError(f"unknown monitor {v!r}; expected one of {', '.join(MONITORS)}")
        return v

    @model_validator(mode="after")
    def _check(self) -> "TrainConfig":
        if not self.valid_topk and self.monitor not in ("auc", "f1"):
            raise ValueError(f"monitor {self.monitor!r} needs valid_topk = true")
        return self

    @classmethod
    def load(cls, path: Path | None = None, preset: str | None = None, **overrides: Any) -> "TrainConfig":
        """Read the ``preset`` (``train/configs/<name>.toml``), then the TOML/YAML/JSON file
        ``path`` over it, then the non-``None`` ``overrides``.

        Overrides may name a training field or a model field (``dim=32`` lands in ``model``).

        Raises:
            TrainError: an unknown preset, an unreadable file, or an invalid value (one line).
        """
        data: dict[str, Any] = {}
        model: dict[str, Any] = {}
        layers = [_read(preset_path(preset))] if preset else []
        layers += [_read(Path(path))] if path is not None else []
        for layer in layers:
            section = dict(layer.pop("model", {}) or {})
            for key in list(layer):
                if key in ModelConfig.model_fields and key not in cls.model_fields:
                    section[key] = layer.pop(key)
            data.update(layer)
            model.update(section)
        for key, value in overrides.items():
            if value is None:
                continue
            if key in ModelConfig.model_fields and key != "model":
                model[key] = value
            elif key == "model" and isinstance(value, str):
                model["model"] = value
            else:
                data[key] = value
        try:
            return cls(**data, model=ModelConfig(**model))
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'config'}: {err['msg']}"
                                 for err in e.errors())
            raise TrainError(f"invalid training config: {problems}") from None


def preset_names() -> list[str]:
    """The presets shipped in ``train/configs/``."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def preset_path(name: str) -> Path:
    if name not in preset_names():
        raise TrainError(f"unknown preset {name!r}; expected one of {', '.join(preset_names())}")
    return PRESETS_DIR / f"{name}.toml"


def _read(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            return yaml.safe_load(text) or {}
        if path.suffix == ".json":
            return json.loads(text)
        return tomllib.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise TrainError(f"{path}: cannot read config: {e}") from e
