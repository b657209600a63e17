"""The on-disk contract between export and training: an :class:`ExportedGraph` folder (format 2).

Files (see ``docs/contracts.md``)::

    graph.bin        dgl.save_graphs of the KG heterograph (every node type; the
                     (User, LISTENED, Track) edge type is there without edges)
    id_maps.json     {label: [neo4j id, ...]}  (position = node index)
    relations.json   [[src_label, rel_type, dst_label], ...]  KG relation index space
    modalities.pt    {name: {"kind": str, "values": FloatTensor[n_tracks, dim], "mask": BoolTensor[n_tracks]}}
    listened/        user.npy, track.npy (int64), plays.npy, ts.npy (float64, NaN = absent): every
                     exported interaction, one row per distinct (user, track), grouped by user
    split/           train.npy, valid.npy, test.npy, valid_neg.npy, test_neg.npy[, train_neg.npy]
                     [, valid_cold.npy, test_cold.npy]: int64 [n, 2] (user index, track index);
                     cold-items also cold_tracks.npy: int64 [n_cold] track indices
    manifest.json    "format": 2, selection, split protocol, seed, counts, time, source[, fastrp]
    fastrp.pt        optional (``mmkg export --fastrp``): {"user": FloatTensor[n_users, d],
                     "track": FloatTensor[n_tracks, d]}, GDS FastRP of the training graph

Loading needs no Neo4j; with ``mmap=True`` the arrays are memory-mapped (copy-on-write: the
files never change) and the tensors too, so processes that load the same folder share its pages
in the page cache instead of each holding a copy.
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

FORMAT = 2
"""The folder format this code writes and reads (1: ``split.npz`` and LISTENED in ``graph.bin``)."""
SPLIT_KEYS = ("train", "valid", "test", "valid_neg", "test_neg", "train_neg", "valid_cold", "test_cold",
              "cold_tracks")
LISTENED_COLUMNS = {"user": np.int64, "track": np.int64, "plays": np.float64, "ts": np.float64}
MANIFEST = "manifest.json"
_REQUIRED = ("graph.bin", "id_maps.json", "relations.json", "modalities.pt", MANIFEST)


def split_file(folder: Path, part: str) -> Path:
    """Where part ``part`` of the split lives in an export folder."""
    return Path(folder) / "split" / f"{part}.npy"


def listened_file(folder: Path, column: str) -> Path:
    """Where column ``column`` (:data:`LISTENED_COLUMNS`) of the interactions lives."""
    return Path(folder) / "listened" / f"{column}.npy"


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
    listened: dict[str, np.ndarray] | None = None
    """Every interaction, by column of :data:`LISTENED_COLUMNS`; None when not recorded."""

    @property
    def num_users(self) -> int:
        return len(self.id_maps.get("User", []))

    @property
    def num_tracks(self) -> int:
        return len(self.id_maps.get("Track", []))

    def shard(self, rank: int, world: int) -> np.ndarray:
        """Worker ``rank``'s part of the training interactions (``split["train"]``, int64
        ``[n, 2]``): the ``rank``-th of ``world`` contiguous parts, disjoint, covering it
        together, sizes differing by at most one. A view: on a memory-mapped export only those
        pages are ever read.

        Raises:
            ValueError: ``rank`` outside ``0..world-1``.
        """
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} outside a world of {world} workers")
        train = self.split["train"]
        return train[rank * len(train) // world:(rank + 1) * len(train) // world]

    def save(self, path: Path) -> Path:
        """Write the whole folder (split and interaction arrays included) and return it."""
        path = Path(path)
        for part, array in self.split.items():
            _save_array(split_file(path, part), np.asarray(array, dtype=np.int64).reshape(-1, 2))
        for column, array in (self.listened or {}).items():
            _save_array(listened_file(path, column), np.asarray(array, dtype=LISTENED_COLUMNS[column]))
        return self.save_metadata(path)

    def save_metadata(self, path: Path) -> Path:
        """Write everything but the split and interaction arrays (a streaming export has
        written those already) and return the folder."""
        import dgl
        import torch

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        dgl.save_graphs(str(path / "graph.bin"), [self.graph])
        (path / "id_maps.json").write_text(json.dumps(self.id_maps))
        (path / "relations.json").write_text(json.dumps([list(r) for r in self.relations]))
        torch.save(self.modalities, path / "modalities.pt")
        if self.fastrp is None:
            (path / "fastrp.pt").unlink(missing_ok=True)  # never a stale one beside a new export
        else:
            torch.save(self.fastrp, path / "fastrp.pt")
        self.manifest = {**self.manifest, "format": FORMAT}
        (path / MANIFEST).write_text(json.dumps(self.manifest, indent=2, sort_keys=True))
        return path

    @classmethod
    def load(cls, path: Path, *, mmap: bool = False) -> "ExportedGraph":
        """Read an export folder; ``mmap``: memory-map the arrays and tensors instead of reading them.

        Raises:
            ExportError: not an export folder, one of an older format, or unreadable.
        """
        import dgl
        import torch

        path = Path(path)
        _check_format(path)
        missing = [f for f in (*_REQUIRED, *(f"split/{k}.npy" for k in ("train", "valid", "test")))
                   if not (path / f).exists()]
        if missing:
            raise ExportError(f"{path} is not an mmkg export folder (missing {', '.join(missing)})")
        mode = "c" if mmap else None  # copy-on-write: pages shared, arrays writable in memory only
        try:  # tensors load with weights_only, arrays without pickles: no pickled code ever runs
            graphs, _ = dgl.load_graphs(str(path / "graph.bin"))
            split = {k: np.load(split_file(path, k), mmap_mode=mode) for k in SPLIT_KEYS
                     if split_file(path, k).exists()}
            listened = {c: np.load(listened_file(path, c), mmap_mode=mode) for c in LISTENED_COLUMNS
                        if listened_file(path, c).exists()} or None
            return cls(
                graph=graphs[0],
                id_maps=json.loads((path / "id_maps.json").read_text()),
                relations=[tuple(r) for r in json.loads((path / "relations.json").read_text())],
                modalities=torch.load(str(path / "modalities.pt"), weights_only=True, mmap=mmap),
                split=split,
                manifest=json.loads((path / MANIFEST).read_text()),
                fastrp=torch.load(str(path / "fastrp.pt"), weights_only=True, mmap=mmap)
                if (path / "fastrp.pt").exists() else None,
                listened=listened,
            )
        except (dgl.DGLError, pickle.UnpicklingError, RuntimeError, ValueError, TypeError,
                OSError, EOFError, IndexError, zipfile.BadZipFile) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ExportError(f"{path}: unreadable export folder ({first[:200]}); "
                              "export it again with `mmkg export`") from e


def _save_array(file: Path, array: np.ndarray) -> None:
    """``np.save`` to a new file renamed over ``file``: a process that maps the old one keeps it."""
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(f".{file.name}.partial")
    with open(partial, "wb") as out:
        np.save(out, array)
    partial.replace(file)


def _check_format(path: Path) -> None:
    """Refuse a folder written in another format (format 1 had no ``format`` key)."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return  # missing or unreadable: reported with the other files
    found = manifest.get("format", 1) if isinstance(manifest, dict) else None
    if found != FORMAT:
        raise ExportError(f"{path} holds an export of format {found}, this mmkg reads format "
                          f"{FORMAT}: re-run `mmkg export`")
