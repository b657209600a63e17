"""Options shared by commands: choices read from a :class:`~mmkg.registry.Registry` on first
use, so that ``mmkg --help`` stays instant, and the run config's ``--config`` and ``--set``.

The registries (catalog formats, media kinds, models) fill in modules that import pandas or
torch; a plain :class:`click.Choice` would import them when the command module is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path

import click


class RegistryChoice(click.Choice):
    """A :class:`click.Choice` whose choices are the names of the registry ``"module:NAME"`` (or
    what a function returns), read once, when first needed (parsing a value, or showing the
    command's own ``--help``)."""

    def __init__(self, names: str | Callable[[], Iterable[str]]) -> None:
        self._names = names
        self.case_sensitive = True

    @cached_property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        if callable(self._names):
            return tuple(self._names())
        module, name = self._names.split(":")
        return getattr(importlib.import_module(module), name).names()


class IdsFile(click.Path):
    """A file of ids, one per line, read into a tuple: UTF-8 (a BOM, as Windows tools write one,
    dropped), each line stripped, blank lines skipped. A byte that is not UTF-8 is a usage error
    naming its line and column."""

    name = "file"

    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False, path_type=Path)

    def convert(self, value, param, ctx) -> tuple[str, ...]:  # type: ignore[override]
        if isinstance(value, tuple):
            return value
        path = super().convert(value, param, ctx)
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
            self.fail(f"{path}:{line}:{column}: byte 0x{data[e.start]:02x} is not UTF-8: expected "
                      "UTF-8 text, one id per line", param, ctx)
        return tuple(line.strip() for line in text.splitlines() if line.strip())


def _assignments(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict:
    from mmkg.train.config import parse_set

    try:
        return dict(parse_set(value) for value in values)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def run_config_options(command: Callable) -> Callable:
    """``--config FILE`` (repeatable, read in order) and ``--set KEY=VALUE`` (repeatable, over the
    files): the training config of a command that trains (:meth:`mmkg.train.config.TrainConfig.load`)."""
    command = click.option(
        "--set", "overrides", multiple=True, callback=_assignments, metavar="KEY=VALUE",
        help="Config override, value parsed as TOML, dotted keys into sections: --set epochs=20 "
             "--set model.dim=32 --set model.kg.hops=2; repeatable, read last.")(command)
    return click.option(
        "--config", "config_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="TOML training config read over the model's defaults (train/configs/models/); repeatable.")(command)
