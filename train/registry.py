"""The registries of training components, each a :class:`~mmkg.registry.Registry` whose first
lookup imports the module that registers the built-ins (so that this module imports no torch).

The config's component names (``model.name``, ``model.fusion``, ``model.kg.aggregator``,
``model.user.aggregator``, ``loss``, ``negatives``) are validated against these, and the CLI's
choices read them; adding a component never touches the config.
"""

from __future__ import annotations

from typing import Any

from mmkg.registry import Registry

MODELS: Registry[Any] = Registry("model", builtins="mmkg.train.model")
"""Recommender classes (:class:`~mmkg.train.model.base.Recommender` subclasses) by name."""
LOSSES: Registry[Any] = Registry("loss", builtins="mmkg.train.objectives")
"""Objectives ``loss(candidates, temperature) -> scalar`` by name."""
NEGATIVES: Registry[Any] = Registry("negatives", builtins="mmkg.train.sampling")
"""Negative samplers ``cls(train, n_items, ratio, alpha, correct, candidates)`` by name."""
FUSIONS: Registry[Any] = Registry("fusion", builtins="mmkg.train.model.fusion")
"""Multi-modal fusion variants (:class:`~mmkg.train.model.fusion.Fusion`) by name."""
AGGREGATORS: Registry[Any] = Registry("aggregator", builtins="mmkg.train.model.kgconv")
"""How KGConv splits its weight between an entity and its neighbourhood, by name."""
ACTIVATIONS: Registry[Any] = Registry("activation", builtins="mmkg.train.model.kgconv")
"""KGConv's elementwise activations by name (the last layer of a stack uses ``tanh``)."""
USER_AGGREGATORS: Registry[Any] = Registry("user aggregator", builtins="mmkg.train.model.user")
"""How the paper model's user vector is built (:class:`~mmkg.train.model.user.UserAgg`), by name."""
