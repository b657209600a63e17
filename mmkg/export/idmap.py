"""Deterministic node-id maps: Neo4j ``id`` strings ↔ heterograph node indices."""

from __future__ import annotations

from collections.abc import Iterable


def sorted_ids(ids: Iterable[str]) -> list[str]:
    """Distinct ids in index order: numeric order when every id is a decimal integer
    (``"2" < "10"``), plain string order otherwise. The same set always gives the same list."""
    unique = set(ids)
    if unique and all(i.isdecimal() for i in unique):
        return sorted(unique, key=lambda i: (int(i), i))
    return sorted(unique)


class IdMap:
    """The node indices of one label: ``ids[k]`` is the Neo4j id of node ``k``."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = sorted_ids(ids)
        self.index = {node_id: k for k, node_id in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.index

    def get(self, node_id: str, default: int = -1) -> int:
        """The index of ``node_id``, or ``default`` when it is not in the map."""
        return self.index.get(node_id, default)
