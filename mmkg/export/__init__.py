"""Neo4j → DGL: stream a subgraph into an :class:`ExportedGraph` folder.

``export_heterograph(driver, database, selection=..., split=..., seed=...)`` reads a
:class:`Selection` of the MMKG, splits its interactions with a :class:`SplitConfig` protocol, and
returns the :class:`ExportedGraph` that ``mmkg export`` saves and ``train/`` loads without Neo4j.
Heavy imports (dgl, torch) happen only when a graph is built, saved or loaded.
"""

from mmkg.export.exported import ExportedGraph
from mmkg.export.selection import Selection
from mmkg.export.split import SplitConfig, SplitProtocol

__all__ = ["ExportedGraph", "Selection", "SplitConfig", "SplitProtocol", "export_heterograph"]


def __getattr__(name: str):
    # export_heterograph pulls in the Neo4j driver and rich (~1 s): load it on first use only.
    if name == "export_heterograph":
        from mmkg.export.heterograph import export_heterograph

        return export_heterograph
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
