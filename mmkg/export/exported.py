"""The on-disk contract between export and training: an :class:`ExportedGraph` folder.

Files (see ``docs/contracts.md``)::

    graph.bin        dgl.save_graphs of the heterograph (LISTENED = training interactions only)
    id_maps.json     {label: [neo4j id, ...]}  (position = node index)
    relations.json   [[src_label, rel_type, dst_label], ...]  KG relation index space
    modalities.pt    {name: {"kind": str, "values": FloatTensor[n_tracks, dim], "mask": BoolTensor[n_tracks]}}
    split.npz        int64 [n, 2] (user index, track index): train, valid, test, valid_neg, test_neg[, train_neg]
    manifest.json    selection, split protocol, seed, counts, time, source[, fastrp]
    fastrp.pt        optional (``mmkg export --fastrp``): {"user": FloatTensor[n_users, d],
                     "track": FloatTensor[n_tracks, d]}, GDS FastRP of the training graph

Loading needs no Neo4j.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmkg.errors import ExportError

SPLIT_KEYS = ("train", "valid", "test", "valid_neg", "test_neg", "train_neg")


@dataclass
class ExportedGraph:
    """A subgraph of the MMKG, ready for training: graph + id maps + modalities + split + manifest."""

    graph: Any  # dgl.DGLGraph (heterograph); typed loosely so importing this module stays light
    id_maps: dict[str, list[str]]
    relations: list[tuple[str, str, str]]
    modalities: dict[str, dict[str, Any]]
    split: dict[str, np.ndarray]
    manifest: dict[str, Any] = field(default_factory=dict)
    fastrp: dict[str, Any] | None = None
    """``{"user": [n_users, d], "track": [n_tracks, d]}`` (:mod:`mmkg.export.fastrp`), or None."""

    @property
    def num_users(self) -> int:
        return len(self.id_maps.get("User", []))

    @property
    def num_tracks(self) -> int:
        return len(self.id_maps.get("Track", []))

    def save(self, path: Path) -> Path:
        """Write the folder (atomically per file) and return it."""
        import dgl
        import torch

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        dgl.save_graphs(str(path / "graph.bin"), [self.graph])
        (path / "id_maps.json").write_text(json.dumps(self.id_maps))
        (path / "relations.json").write_text(json.dumps([list(r) for r in self.relations]))
        torch.save(self.modalities, path / "modalities.pt")
        np.savez_compressed(path / "split.npz", **{k: v for k, v in self.split.items()})
        (path / "manifest.json").write_text(json.dumps(self.manifest, indent=2, sort_keys=True))
        if self.fastrp is None:
            (path / "fastrp.pt").unlink(missing_ok=True)  # never a stale one beside a new export
        else:
            torch.save(self.fastrp, path / "fastrp.pt")
        return path

    @classmethod
    def load(cls, path: Path) -> "ExportedGraph":
        import dgl
        import torch

        path = Path(path)
        missing = [f for f in ("graph.bin", "id_maps.json", "relations.json", "modalities.pt",
                               "split.npz", "manifest.json") if not (path / f).exists()]
        if missing:
            raise ExportError(f"{path} is not an mmkg export folder (missing {', '.join(missing)})")
        try:  # tensors load with weights_only, arrays without pickles: no pickled code ever runs
            graphs, _ = dgl.load_graphs(str(path / "graph.bin"))
            with np.load(path / "split.npz") as split:
                split_arrays = {k: split[k] for k in split.files}
            return cls(
                graph=graphs[0],
                id_maps=json.loads((path / "id_maps.json").read_text()),
                relations=[tuple(r) for r in json.loads((path / "relations.json").read_text())],
                modalities=torch.load(path / "modalities.pt", weights_only=True),
                split=split_arrays,
                manifest=json.loads((path / "manifest.json").read_text()),
                fastrp=torch.load(path / "fastrp.pt", weights_only=True)
                if (path / "fastrp.pt").exists() else None,
            )
        except (dgl.DGLError, pickle.UnpicklingError, RuntimeError, ValueError, TypeError,
                OSError, EOFError, IndexError, zipfile.BadZipFile) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ExportError(f"{path}: unreadable export folder ({first[:200]}); "
                              "export it again with `mmkg export`") from e
