"""``--option`` choices read from a registry on first use, so that ``mmkg --help`` stays instant.

The registries (catalog formats, media kinds, models) live in modules that import pandas or
torch; a plain :class:`click.Choice` would import them when the command module is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property

import click


class RegistryChoice(click.Choice):
    """A :class:`click.Choice` whose choices are ``names()``, called once, when first needed
    (parsing a value, or showing the command's own ``--help``)."""

    def __init__(self, names: Callable[[], Iterable[str]], case_sensitive: bool = True) -> None:
        self._names = names
        self.case_sensitive = case_sensitive

    @cached_property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self._names())


def training_component(kind: str) -> RegistryChoice:
    """Names of a training component registry — ``model``, ``fusion``, ``aggregator``,
    ``user_agg``, ``loss`` or ``negatives`` (:func:`mmkg.train.config.choices`)."""

    def names() -> tuple[str, ...]:
        from mmkg.train.config import choices

        return choices(kind)

    return RegistryChoice(names)


def presets() -> RegistryChoice:
    """The training presets shipped in ``train/configs/``."""

    def names() -> list[str]:
        from mmkg.train.config import preset_names

        return preset_names()

    return RegistryChoice(names)
