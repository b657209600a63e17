"""One reader per input format; each validates its files and returns :class:`GraphData`."""

from mmkg.ingest.readers.catalog import read_catalog
from mmkg.ingest.readers.graph import GraphData, NodeSet, RelSet
from mmkg.ingest.readers.kgcn import read_kgcn
from mmkg.ingest.readers.mkgcn import read_mkgcn

__all__ = ["GraphData", "NodeSet", "RelSet", "read_catalog", "read_kgcn", "read_mkgcn"]
