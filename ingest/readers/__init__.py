"""One reader per catalog format; each validates its files and returns :class:`GraphData`.

Importing this package registers the built-in formats (``catalog``, ``kgcn``, ``mkgcn``) in
:mod:`.registry`; a new format is one module with a ``@register_format("name")`` reader,
imported below.
"""

# Registration, in this order (the order `mmkg ingest --format` lists them):
from mmkg.ingest.readers import catalog  # noqa: F401, I001
from mmkg.ingest.readers import kgcn  # noqa: F401
from mmkg.ingest.readers import mkgcn  # noqa: F401
from mmkg.ingest.readers.registry import FORMATS, CatalogFormat

__all__ = ["FORMATS", "CatalogFormat"]
