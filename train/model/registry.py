"""The model registry: model name → :class:`~mmkg.train.model.base.Recommender` subclass.

A model is one module in ``train/model/`` whose class carries ``@register_model("name")`` and
implements ``from_data(config, data, rng)``; importing :mod:`mmkg.train.model` registers them
all. The config's ``model`` field and the CLI's ``--model`` choices are read from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

MODELS: dict[str, type] = {}
"""Registered model classes by name."""

T = TypeVar("T", bound=type)


def register_model(name: str) -> Callable[[T], T]:
    """Class decorator: make ``name`` build this class (names are unique)."""

    def add(cls: T) -> T:
        if name in MODELS and MODELS[name] is not cls:
            raise ValueError(f"model {name!r} is already registered by {MODELS[name].__name__}")
        MODELS[name] = cls
        return cls

    return add


def model_names() -> list[str]:
    """Every registered model name (importing the model package registers them)."""
    import mmkg.train.model  # noqa: F401  (registration side effect)

    return sorted(MODELS)
