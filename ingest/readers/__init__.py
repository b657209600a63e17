"""One reader per input format; each validates its files and returns :class:`GraphData`."""

from ingest.readers.catalog import read_catalog
from ingest.readers.graph import GraphData, NodeSet, RelSet
from ingest.readers.kgcn import read_kgcn
from ingest.readers.mkgcn import read_mkgcn

__all__ = ["GraphData", "NodeSet", "RelSet", "read_catalog", "read_kgcn", "read_mkgcn"]
