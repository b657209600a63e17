"""The catalog-format registry: format name → the reader that validates such a folder.

A format is one module in ``ingest/readers/`` whose reader function carries
``@register_format("name")``; the first lookup in :data:`FORMATS` imports :mod:`mmkg.ingest.readers`,
which registers the built-in ones. ``mmkg ingest --format`` offers exactly the registered names.

A reader has the signature ``read(root, validator, **options) -> GraphData``: it reports every
problem to the :class:`~mmkg.ingest.validate.Validator` (never raises for bad data) and returns
what the folder's valid rows add to the graph. ``options`` are the format's own settings, named
at registration (e.g. ``rating_threshold`` for ``mkgcn``); a format with media also gets
``media``, the :class:`~mmkg.config.MediaSettings` its files are checked under.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmkg.config import MediaSettings
from mmkg.registry import Registry

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

    def __call__(self, root: Path, validator: "Validator", media: MediaSettings,
                 **options: Any) -> "GraphData":
        """Read ``root`` with ``options`` (see :meth:`check_options`), and with ``media`` when
        the format has media files."""
        given = self.check_options(**options) | ({"media": media} if self.media else {})
        return self.read(root, validator, **given)


FORMATS: Registry[CatalogFormat] = Registry("format", builtins="mmkg.ingest.readers")
"""Registered formats by name, in registration order."""


def register_format(name: str, *, media: bool = False,
                    options: tuple[str, ...] = ()) -> Callable[[Reader], Reader]:
    """Function decorator: make ``name`` read folders with this reader (names are unique)."""
    return lambda read: FORMATS.add(name, CatalogFormat(name, read, media, frozenset(options))).read
