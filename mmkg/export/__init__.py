"""Neo4j → DGL: stream a subgraph into an :class:`ExportedGraph` folder."""

from mmkg.export.exported import ExportedGraph

__all__ = ["ExportedGraph"]
