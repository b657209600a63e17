"""One registry mechanism: name → class, function or record, filled by a decorator.

Catalog formats, media kinds, feature extractors, models, objectives, negative samplers, fusions,
KG aggregators and user aggregators are each a :class:`Registry`; the CLI's choices and the
training config's validation read them. A registry may name the module that registers its
built-in entries: it is imported on the first lookup, so that the registry itself stays cheap to
import (no torch, no pandas)::

    LOSSES: Registry[Loss] = Registry("loss", builtins="mmkg.train.objectives")

    @LOSSES.register("bpr")
    def bpr(candidates, temperature=1.0): ...

    LOSSES.get("bpr"); LOSSES.names()   # ('bce', 'bpr', 'softmax'), in registration order
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from mmkg.errors import ConfigError

T = TypeVar("T")


class UnknownName(ConfigError, ValueError):
    """A name no entry of the registry carries (a :class:`ValueError` too, so that a pydantic
    validator turns it into a validation error)."""


class Registry(Generic[T]):
    """Entries of one kind by unique name, in registration order.

    Args:
        kind: what an entry is, as messages word it (``"model"``, ``"catalog format"``).
        builtins: module imported before the first lookup; importing it registers the built-ins.
    """

    def __init__(self, kind: str, builtins: str | None = None) -> None:
        self.kind, self._builtins, self._entries = kind, builtins, dict[str, T]()

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` as ``name`` and return it.

        Raises:
            ValueError: ``name`` is registered to another entry already.
        """
        if name in self._entries and self._entries[name] != entry:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register the decorated class or function as ``name`` (see :meth:`add`)."""
        return lambda entry: self.add(name, entry)

    def get(self, name: str) -> T:
        """The entry ``name``.

        Raises:
            UnknownName: no entry is called ``name`` (one line listing the names there are).
        """
        entries = self._loaded()
        if name not in entries:
            raise UnknownName(f"unknown {self.kind} {name!r}; expected one of {', '.join(entries)}")
        return entries[name]

    def names(self) -> tuple[str, ...]:
        """Every registered name, in registration order."""
        return tuple(self._loaded())

    def values(self) -> Iterator[T]:
        """Every registered entry, in registration order."""
        return iter(self._loaded().values())

    def __contains__(self, name: object) -> bool:
        return name in self._loaded()

    def _loaded(self) -> dict[str, T]:
        if self._builtins is not None:
            importlib.import_module(self._builtins)
        return self._entries
