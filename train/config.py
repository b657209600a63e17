"""Typed training configuration, read from layered TOML files and ``key=value`` overrides.

A config is nested: training settings at the top, the model in ``[model]`` with the KGCN tree's
settings in ``[model.kg]`` and the paper model's user vector in ``[model.user]``::

    # run.toml
    epochs = 20
    lr = 1e-3
    [model]
    name = "mkgcn"
    dim = 64
    [model.kg]
    hops = 2

:meth:`TrainConfig.load` reads, each over the one before: the field defaults below, the model's
own defaults ``train/configs/models/<model.name>.toml`` (as RecBole keeps one file per model),
the ``--config`` files in order, then the ``--set key=value`` overrides (dotted keys into the
sections, values parsed as TOML). Component names (``model.name``, ``model.fusion``,
``model.kg.aggregator``, ``model.kg.activation``, ``model.user.aggregator``, ``loss``,
``negatives``) are checked against :mod:`mmkg.train.registry`, so adding one never touches this
file.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from mmkg.config import Settings
from mmkg.errors import TrainError, validation_summary
from mmkg.registry import Registry
from mmkg.train import registry

TOPK = (1, 2, 5, 10, 20, 50, 100)
"""The cut-offs K of every top-K metric."""
MODELS_DIR = Path(__file__).resolve().parent / "configs" / "models"
"""Each model's defaults: ``<name>.toml``."""
MONITORS = ("auc", "f1", "recall@20", "ndcg@20", "cold_recall@20", "cold_ndcg@20")
"""What ``monitor`` may name: CTR, warm top-K, or (``cold_*``, a ``cold-items`` export only) the
ranking of the held-out new tracks (:mod:`mmkg.train.evaluate_cold`)."""
DEFAULT_MODEL = "mkgcn"
"""The model of a config that names none: the ranking MKGCN."""
USERS_PER_CHUNK = 256
"""Users scored at once when ranking every track (memory/speed trade-off only)."""


def _in(names: Registry[Any]) -> AfterValidator:
    """Field validator: the value is a name registered in ``names``."""

    def check(value: str) -> str:
        names.get(value)  # UnknownName is a ValueError: pydantic reports it for the field
        return value

    return AfterValidator(check)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # inf and nan refused


class KGConfig(_Section):
    """``[model.kg]``: the knowledge graph. ``hops`` is every KG model's, ``gate`` and
    ``hop_mean_if_empty`` ``mkgcn``'s; the rest shape the KGCN tree of ``mkgcn-paper`` and
    ``kgcn``."""

    hops: int = Field(1, ge=0)
    """H: KG aggregation depth (``mkgcn``: 0 turns the KG off; the tree needs ≥ 1)."""
    gate: float = Field(0.0, ge=0)
    """c: ``mkgcn``'s degree gate — an entity with d KG facts weighs its KG hops by d / (d + c)
    against its own vector (0: off, every hop counts fully; ``mkgcn``'s defaults file sets 1,
    chosen on validation: BENCHMARKS.md, "a degree gate on the KG hop")."""
    hop_mean_if_empty: bool = False
    """``mkgcn``: an item whose layer 0 is empty (no ID this step — dropped, or never given to a
    track without a training listen — and no media) takes the mean of its KG hops,
    Σ h⁽ˡ⁾ / H, instead of the gated mix with its empty vector, g Σ h⁽ˡ⁾ / (1 + g H), which
    shrinks a one-fact artist to 1/3 of its neighbour's vector (False: the mix; ``mkgcn``'s
    defaults file sets True, chosen on validation: BENCHMARKS.md, "new tracks without media keep
    their whole KG vector")."""
    neighbours: int = Field(8, ge=1)
    """K: sampled (relation, neighbour) pairs per entity."""
    aggregator: Annotated[str, _in(registry.AGGREGATORS)] = "sum"
    """How KGConv combines an entity with its neighbourhood."""
    activation: Annotated[str, _in(registry.ACTIVATIONS)] = "relu"
    """Hidden KGConv activation (the last layer's is tanh)."""


class UserConfig(_Section):
    """``[model.user]``: the user vector of ``mkgcn-paper``."""

    aggregator: Annotated[str, _in(registry.USER_AGGREGATORS)] = "multi-head"
    """Self-attention over the history (``multi-head``), its ``mean``, or a learned user-ID
    ``embedding``."""
    embedding: bool = False
    """Add a learned user-ID embedding to the history-based vector."""
    heads: int = Field(2, ge=1)
    """Attention heads of ``multi-head`` (must divide ``dim``)."""
    history: int = Field(16, ge=1)
    """K_u: training history items sampled per user."""


class ModelConfig(_Section):
    """``[model]``: what ``model.pt`` needs to rebuild the network."""

    name: Annotated[str, _in(registry.MODELS)] = DEFAULT_MODEL
    """A registered model: ``mkgcn`` (ranking MKGCN), ``mkgcn-paper`` (the paper's), ``kgcn``,
    baselines ``pop``, ``bpr`` (MF), ``lightgcn``, ``fastrp`` (GDS FastRP vectors of the export)."""
    dim: int = Field(64, ge=1, le=4096)
    """Embedding size d."""
    layers: int = Field(3, ge=0)
    """L: propagation layers over the user–track training graph (``mkgcn``, ``lightgcn``)."""
    id_dropout: float = Field(0.5, ge=0, lt=1)
    """p (``mkgcn``): in each training step every item's layer-0 ID embedding is replaced by
    zeros with probability p, and the step's loss also scores those items from their content and
    KG vector alone (as a new track is scored), so that content and KG must carry them; with
    p > 0, items without a training listen (new tracks) always go without it (0: off). 0.5 was
    chosen on validation of
    ``bench/cold_start.py`` (BENCHMARKS.md, "Cold start")."""
    new_track_balance: float = Field(0.0, ge=0)
    """α (``mkgcn`` with ID dropout): the new-track term of the loss keeps each positive track i
    of a step with probability n_i^-α (n_i: its training listens; one draw per track and step),
    so that content and KG learn what a listener likes rather than how popular a track is (0, the
    default: every positive). For catalogs where popularity does not follow content: on the
    popularity-skewed synthetic catalogs α = 0.5 lifts new-track ranking above content kNN, on
    Last.FM it lowers both new-track and warm ranking (BENCHMARKS.md, "Cold start")."""
    modalities: bool = True
    """Use the export's modality vectors (False: no fusion layer at all)."""
    modality_names: list[str] | None = None
    """Subset of the export's feature names to use (None: all)."""
    fusion: Annotated[str, _in(registry.FUSIONS)] = "add"
    """Multi-modal fusion variant."""
    kg: KGConfig = KGConfig()
    user: UserConfig = UserConfig()
    options: dict[str, Any] = {}
    """``[model.options]``: settings of this model alone, checked by the model class's own
    pydantic ``Options`` (a model without one takes none)."""


class TrainConfig(_Section):
    """Optimisation, sampling and evaluation settings, plus the :class:`ModelConfig`."""

    model: ModelConfig = ModelConfig()
    epochs: int = Field(100, ge=0)
    batch_size: int = Field(1024, ge=1)
    """Positive interactions per optimisation step."""
    lr: float = Field(4e-3, gt=0)
    """Adam's learning rate; a model's own defaults may set another (``mkgcn`` and ``lightgcn``: 2e-3,
    ``train/configs/models/``)."""
    l2: float = Field(1e-4, ge=0)
    """Weight of the L2 term (vector models: ``Σ‖e‖²/(2B)`` over the batch's layer-0 rows;
    the paper's models: ``Σ p²/2`` over all parameters)."""
    loss: Annotated[str, _in(registry.LOSSES)] = "softmax"
    """Objective: ``softmax`` (sampled softmax), ``bpr`` or ``bce``."""
    negatives: Annotated[str, _in(registry.NEGATIVES)] = "shared"
    """Negative sampler: ``shared`` (per batch), ``in-batch`` or ``ratio`` (per positive, per epoch)."""
    neg_ratio: int = Field(256, ge=1)
    """Negatives per positive (``shared``: drawn per batch and shared; ``in-batch``: unused)."""
    neg_alpha: float = 0.0
    """Negatives drawn with probability ∝ (train popularity + 1)^alpha; 0 = uniform."""
    neg_unheard: bool = True
    """Draw negatives among tracks without a training listen too (False: only among tracks with
    one; a track nobody listened to is no evidence of dislike, and as a negative only ever
    pushed down, it stays buried: new releases in a retrain)."""
    neg_correction: bool = False
    """Sampled-softmax logQ correction (subtract ``τ log(N q_j)``) for non-uniform proposals."""
    temperature: float = Field(0.2, gt=0)
    """τ of the softmax and BPR objectives (logits are divided by it)."""
    patience: int = Field(10, ge=1)
    """Stop after this many epochs without improvement of ``monitor`` on validation."""
    monitor: Literal[MONITORS] = "recall@20"  # type: ignore[valid-type]
    """Validation metric used for model selection and early stopping. ``cold_recall@20`` /
    ``cold_ndcg@20`` select for new releases (a ``cold-items`` export: the held-out tracks ranked
    by content and KG alone) instead of for tracks that already have listens."""
    valid_topk: bool = True
    """Top-K metrics on validation every epoch (False: CTR only per epoch; top-K at the end)."""
    users_per_chunk: int = Field(USERS_PER_CHUNK, ge=1)
    """Users scored at once when ranking every track (memory/speed trade-off only)."""
    keep_freed_memory: bool = True
    """Training epochs reuse the memory of freed tensors instead of unmapping it (glibc only,
    :mod:`mmkg.train.allocator`): an epoch at 10M listens 158 → 91 s for a higher peak RSS
    (3.9 → 7.0 GB); no effect at 1M. Speed/memory trade-off only: results are identical."""
    valid_users: int = Field(5000, ge=0)
    """Validation top-K (selection, early stopping) ranks a seeded sample of this many of the
    users with a validation listen, the same users every epoch (``evaluate.valid_sample``); 0 =
    all. The default ranks all of Last.FM's 1,872 users, so its selection is unchanged, and 1 %
    of the users at 10M listens (500k users); test is always ranked for every user."""
    seed: int = 0
    """Seed of the model: initial weights, sampled tables, negatives, batch order."""
    refit: bool = False
    """``mmkg train --refit``: after selection and test, retrain on every listen for the selected
    epoch count (:func:`mmkg.train.runner.refit_run`). Recorded in the run's ``config.json``, so
    that publish refuses a run whose refit has not finished and ``--resume`` completes it."""

    @model_validator(mode="after")
    def _check(self) -> "TrainConfig":
        if not self.valid_topk and self.monitor not in ("auc", "f1"):
            raise ValueError(f"monitor {self.monitor!r} needs valid_topk = true")
        model, user = self.model, self.model.user
        if model.name == "mkgcn-paper" and user.aggregator == "multi-head" and model.dim % user.heads:
            raise ValueError(f"model.dim ({model.dim}) must be a multiple of model.user.heads ({user.heads})")
        options = getattr(registry.MODELS.get(model.name), "Options", None)
        unknown = sorted(set(model.options) - set(options.model_fields if options else ()))
        if unknown:
            raise ValueError(f"model {model.name} has no model.options {', '.join(unknown)}")
        try:
            model.options = options.model_validate(model.options).model_dump() if options else {}
        except ValidationError as e:
            raise ValueError(f"model.options: {validation_summary(e)}") from None
        return self

    @classmethod
    def load(cls, files: Iterable[Path] = (), overrides: Mapping[str, Any] | None = None) -> "TrainConfig":
        """The field defaults, under the model's defaults file, under ``files`` (TOML, or the
        JSON of a run folder's ``config.json``) in order, under ``overrides`` (dotted keys:
        ``{"model.kg.hops": 2}``).

        Raises:
            TrainError: an unreadable file or an invalid value (one line).
        """
        given: dict[str, Any] = {}
        for layer in [_read_training_file(Path(f)) for f in files] + [nested(overrides or {})]:
            merge(given, layer)
        model = given.get("model")
        name = model.get("name", DEFAULT_MODEL) if isinstance(model, dict) else DEFAULT_MODEL
        if isinstance(name, str) and name in registry.MODELS and (MODELS_DIR / f"{name}.toml").is_file():
            given = merge(_read(MODELS_DIR / f"{name}.toml"), given)
        return cls._validated(given)

    @classmethod
    def of_run(cls, config_json: Path, overrides: Mapping[str, Any] | None = None) -> "TrainConfig":
        """The config a run saved (its ``config.json``, a complete :meth:`model_dump`), under
        ``overrides``. The model's defaults file is *not* layered under it: a setting added after
        the run was made takes its field default, the value the run was trained with, not the
        model's default of today (a run from before ``model.kg.gate`` existed keeps gate 0).

        Raises:
            TrainError: an unreadable file or an invalid value (one line).
        """
        return cls._validated(merge(_read(Path(config_json)), nested(overrides or {})))

    @classmethod
    def _validated(cls, given: dict[str, Any]) -> "TrainConfig":
        try:
            return cls.model_validate(given)
        except ValidationError as e:
            raise TrainError(f"invalid training config: {validation_summary(e)}") from None


def nested(pairs: Mapping[str, Any]) -> dict[str, Any]:
    """``{"model.kg.hops": 2}`` → ``{"model": {"kg": {"hops": 2}}}``.

    Raises:
        TrainError: a key goes into a value as if it were a section (``model.dim`` and ``model.dim.x``).
    """
    out: dict[str, Any] = {}
    for key, value in pairs.items():
        *sections, last = key.split(".")
        node = out
        for depth, section in enumerate(sections, 1):
            node = node.setdefault(section, {})
            if not isinstance(node, dict):
                raise TrainError(f"cannot set {key}: {'.'.join(sections[:depth])} is a value, not a section")
        node[last] = value
    return out


def merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` into ``base`` (tables merge, other values replace); returns ``base``."""
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value
    return base


def parse_set(assignment: str) -> tuple[str, Any]:
    """``"model.kg.hops=2"`` → ``("model.kg.hops", 2)``: the value parsed as TOML (a bare word
    that is not TOML, such as ``lightgcn``, stays a string).

    Raises:
        ValueError: no ``=``, or an empty key.
    """
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"expected KEY=VALUE, got {assignment!r}")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    return key.strip(), value


def _read_training_file(path: Path) -> dict[str, Any]:
    """:func:`_read`, refusing mmkg's settings file (``mmkg.toml``: ``[neo4j]``, ``[media]``...),
    which ``mmkg --config`` takes, not ``mmkg train --config``."""
    given = _read(path)
    settings = sorted(set(given) & set(Settings.model_fields))
    if settings:
        raise TrainError(f"{path} holds mmkg's settings ({', '.join(settings)}), not a training config: "
                         f"give it before the command, as mmkg --config {path} train ...")
    return given


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
        return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as e:
        raise TrainError(f"{path}: cannot read config: {e}") from e
