"""Typed model and training configuration, with documented defaults, loadable from TOML or YAML.

A config file may be flat or split into sections::

    # run.toml
    epochs = 20
    lr = 5e-4
    [model]
    model = "mkgcn"
    dim = 16
    fusion = "residual"

Defaults follow KGCN's Last.FM settings (K 8, d 16, H 1, batch 128, L2 1e-4, lr 5e-4) where the
spec has no better-measured value. ``model = "kgcn"`` is MKGCN with modalities off and a plain
learned user embedding (KGCN's user vector).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mmkg.errors import TrainError

ModelName = Literal["mkgcn", "kgcn", "pop", "bpr", "lightgcn"]
TOPK = (1, 2, 5, 10, 20, 50, 100)
"""The cut-offs K of every top-K metric."""


class ModelConfig(BaseModel):
    """Hyperparameters of the model (what ``model.pt`` needs to rebuild the network)."""

    model_config = ConfigDict(extra="forbid")

    model: ModelName = "mkgcn"
    """``mkgcn``; ``kgcn`` (= no modalities, user-ID embedding as user vector); baselines ``pop``,
    ``bpr`` (BPR-MF) and ``lightgcn``."""
    dim: int = Field(16, ge=1)
    """Embedding size d."""
    neighbours: int = Field(8, ge=1)
    """K: sampled (relation, neighbour) pairs per entity."""
    hops: int = Field(1, ge=1)
    """H: receptive-field depth of the item aggregator."""
    aggregator: Literal["sum", "concat", "neighbor"] = "sum"
    """How KGConv combines an entity with its neighbourhood."""
    activation: Literal["relu", "sigmoid"] = "relu"
    """Hidden activation of KGConv (ReLU as KGCN, sigmoid as MKGCN's reference); the last is tanh."""
    fusion: Literal["residual", "mean", "sum", "max", "concat"] = "residual"
    """Multi-modal fusion variant."""
    modalities: bool = True
    """Use the export's modality vectors (False: no fusion layer at all)."""
    modality_names: list[str] | None = None
    """Subset of the export's feature names to use (None: all)."""
    user_agg: Literal["multi-head", "mean", "embedding"] = "multi-head"
    """User vector: self-attention over history, mean of history, or a learned user-ID embedding."""
    user_embedding: bool = False
    """Add a learned user-ID embedding to the history-based user vector."""
    heads: int = Field(2, ge=1)
    """Attention heads of the ``multi-head`` user aggregator (must divide ``dim``)."""
    history: int = Field(16, ge=1)
    """K_u: training history items sampled per user."""
    layers: int = Field(3, ge=1)
    """LightGCN propagation layers."""

    @model_validator(mode="after")
    def _check(self) -> "ModelConfig":
        if self.model == "kgcn":
            object.__setattr__(self, "modalities", False)
            object.__setattr__(self, "user_agg", "embedding")
        if self.user_agg == "multi-head" and self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be a multiple of heads ({self.heads})")
        return self


class TrainConfig(BaseModel):
    """Optimisation, sampling and evaluation settings, plus the :class:`ModelConfig`."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig = ModelConfig()
    epochs: int = Field(20, ge=0)
    batch_size: int = Field(128, ge=1)
    """Positive interactions per step (each brings ``neg_ratio`` negatives)."""
    lr: float = Field(5e-4, gt=0)
    l2: float = Field(1e-4, ge=0)
    """Weight of ``sum(p**2)/2`` over all parameters, added to the loss."""
    neg_ratio: int = Field(1, ge=1)
    """Negatives per training positive, resampled every epoch."""
    neg_alpha: float = 0.0
    """Negatives drawn with probability ∝ (train popularity + 1)^alpha; 0 = uniform."""
    patience: int = Field(5, ge=1)
    """Stop after this many epochs without improvement of ``monitor`` on validation."""
    monitor: Literal["auc", "f1", "recall@20", "ndcg@20"] = "auc"
    """Validation metric used for model selection and early stopping."""
    valid_topk: bool = True
    """Top-K metrics on validation every epoch (False: CTR only per epoch; top-K at the end)."""
    eval_users: int = Field(64, ge=1)
    """Users per chunk when scoring all items (memory/speed trade-off only)."""
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> "TrainConfig":
        if not self.valid_topk and self.monitor not in ("auc", "f1"):
            raise ValueError(f"monitor {self.monitor!r} needs valid_topk = true")
        return self

    @classmethod
    def load(cls, path: Path | None = None, **overrides: Any) -> "TrainConfig":
        """Read a TOML/YAML/JSON file (optional) and apply non-``None`` ``overrides``.

        Overrides may name a training field or a model field (``dim=32`` lands in ``model``).
        """
        data: dict[str, Any] = _read(Path(path)) if path is not None else {}
        model = dict(data.pop("model", {}) or {})
        for key in list(data):
            if key in ModelConfig.model_fields and key not in cls.model_fields:
                model[key] = data.pop(key)
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
            raise TrainError(f"invalid training config: {e}") from e


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
