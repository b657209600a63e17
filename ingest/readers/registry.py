"""The catalog-format registry: format name → the reader that validates such a folder.

A format is one module in ``ingest/readers/`` whose reader function carries
``@register_format("name")``; importing :mod:`mmkg.ingest.readers` imports the built-in ones and
so registers them. ``mmkg ingest --format`` offers exactly the registered names.

A reader has the signature ``read(root, validator, **options) -> GraphData``: it reports every
problem to the :class:`~mmkg.ingest.validate.Validator` (never raises for bad data) and returns
what the folder's valid rows add to the graph. ``options`` are the format's own settings, named
at registration (e.g. ``rating_threshold`` for ``mkgcn``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmkg.ingest.graphdata import GraphData
    from mmkg.ingest.validate import Validator

Reader = Callable[..., "GraphData"]
"""``read(root: Path, validator: Validator, **options) -> GraphData``."""


@dataclass(frozen=True)
class CatalogFormat:
    """A registered catalog format."""

    name: str
    read: Reader
    media: bool
    """Its folders reference media files: features are computed after ingest by default."""
    options: frozenset[str]
    """The keyword options its reader accepts."""

    def check_options(self, **options: Any) -> dict[str, Any]:
        """The options given (not ``None``; ``None`` means the reader's default).

        Raises:
            ValueError: an option this format does not have.
        """
        given = {k: v for k, v in options.items() if v is not None}
        unknown = sorted(set(given) - self.options)
        if unknown:
            owners = [f.name for f in FORMATS.values() if set(unknown) <= f.options]
            where = f"the {' and '.join(owners)} format" if owners else "no format"
            raise ValueError(f"{', '.join(unknown)} applies to {where} only, not to {self.name}")
        return given

    def __call__(self, root: Path, validator: "Validator", **options: Any) -> "GraphData":
        """Read ``root`` with ``options`` (see :meth:`check_options`)."""
        return self.read(root, validator, **self.check_options(**options))


FORMATS: dict[str, CatalogFormat] = {}
"""Registered formats by name, in registration order."""


def register_format(name: str, *, media: bool = False,
                    options: tuple[str, ...] = ()) -> Callable[[Reader], Reader]:
    """Function decorator: make ``name`` read folders with this reader (names are unique)."""

    def add(read: Reader) -> Reader:
        if name in FORMATS and FORMATS[name].read is not read:
            raise ValueError(f"catalog format {name!r} is already registered")
        FORMATS[name] = CatalogFormat(name, read, media, frozenset(options))
        return read

    return add


def catalog_format(name: str) -> CatalogFormat:
    """The registered format ``name``.

    Raises:
        ValueError: unknown name.
    """
    _load_builtins()
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}: expected one of {', '.join(FORMATS)}")
    return FORMATS[name]


def format_names() -> tuple[str, ...]:
    """Every registered format name, in registration order."""
    _load_builtins()
    return tuple(FORMATS)


def _load_builtins() -> None:
    import mmkg.ingest.readers  # noqa: F401  (registers the built-in formats)
