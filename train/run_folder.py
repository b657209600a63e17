"""The training run folder (``docs/contracts.md`` §4): its file names and their (de)serialisation.

``mmkg train --out RUN`` writes it, ``mmkg eval`` and ``mmkg publish`` read it; nothing else
spells its file names. Files::

    config.json     the training config used (``TrainConfig.model_dump()``)
    metrics.json    ``valid`` / ``test`` metrics, history, timings (see ``mmkg.train.fit``)
    model.pt        the model selected on validation:
                    {"state_dict": {name: tensor}, "config": dict, "export": str | None, "epoch": int}
    refit.pt        after ``mmkg train --refit``: the refit model, as model.pt (its parameters
                    produced embeddings.pt; ``mmkg publish --new-tracks`` reuses them)
    checkpoint.pt   the last epoch's full state, for ``--resume`` (a dict of tensors and numbers)
    embeddings.pt   what publish writes: {"track_ids": [str], "user_ids": [str],
                    "track": [n_tracks, d], "user": [n_users, d],
                    "topk": {"items": [n_users, K] long (indices into track_ids; < 0 = padding),
                             "scores": [n_users, K] float}}
    curves.png      training loss and validation metrics per epoch

``model.pt``'s ``export`` records the ExportedGraph folder the run was trained on (relative to
the run folder when inside it), so evaluation reloads the same data and publish stores that
export's real ``manifest.json`` on the ``:Model`` node.

Every ``.pt`` file holds only tensors, dicts, lists, strings and numbers, and is read with
``torch.load(..., weights_only=True)``: loading a run folder never runs pickled code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mmkg.errors import RunFolderError

log = logging.getLogger(__name__)

EXPORT_MANIFEST = "manifest.json"
"""The manifest file of an ExportedGraph folder (``mmkg.export.exported``)."""
SAME_EXPORT_KEYS = ("format", "split", "seed", "selection", "counts", "modalities")
"""What an export's manifest must share with the recorded export's to stand in for it
(:meth:`RunFolder.check_export`): the same graph (selection, counts, features), split the same
way (protocol, ratios, seed)."""
MIN_FREE_MIB = 200
"""Free space ``mmkg train`` wants on OUT's filesystem before it starts: a few times the export,
checkpoints and embeddings of a catalog of 100k tracks (small catalogs need far less)."""


def check_out_folder(out: Path, min_free_mib: float = MIN_FREE_MIB) -> None:
    """Create OUT if needed and check that a file can be written there and that its filesystem
    has ``min_free_mib`` MiB free, so that a bad OUT fails in a second, not after the export.

    Raises:
        RunFolderError: OUT cannot be created or written, or its filesystem is (nearly) full.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
        free_mib = shutil.disk_usage(out).free / 2**20
    except OSError as e:
        raise RunFolderError(f"--out {out}: cannot write a run folder there "
                             f"({e.strerror or e})") from e
    if free_mib < min_free_mib:
        raise RunFolderError(f"--out {out}: only {free_mib:.0f} MiB free on its filesystem; a run "
                             f"needs at least {min_free_mib:.0f} MiB (export, checkpoints, embeddings)")


def resume_command(out: Path, export: Path | None = None, *options: str) -> str:
    """The command line that goes on with the run in ``out``: ``mmkg train --resume --out OUT``,
    with ``--export EXPORT`` when the run trains on an export other than ``OUT/export`` (else a
    resume would export the database into ``OUT/export``), then ``options``; every path
    shell-quoted, so that the line can be pasted as it is."""
    words = ["mmkg", "train", "--resume", "--out", str(out)]
    if export is not None and Path(export).resolve() != (Path(out) / RunFolder.EXPORT).resolve():
        words += ["--export", str(export)]
    return shlex.join([*words, *options])


@contextmanager
def out_folder(out: Path) -> Iterator[None]:
    """:func:`check_out_folder` for the ``with`` block; when the check or the block fails, the
    folders it created (OUT, missing parents) are removed again while empty: a refused run
    leaves nothing behind, and a folder that existed before is never removed."""
    created = [folder for folder in (out, *out.parents) if not folder.exists()]  # deepest first
    try:
        check_out_folder(out)
        yield
    except BaseException:
        for folder in created:
            try:
                folder.rmdir()  # only while empty
            except OSError:
                break
        raise


@dataclass(frozen=True)
class Embeddings:
    """The content of ``embeddings.pt``: final vectors and the exact top-K per user."""

    track_ids: list[str]
    user_ids: list[str]
    track: torch.Tensor
    """[n_tracks, d] float"""
    user: torch.Tensor
    """[n_users, d] float"""
    topk_items: torch.Tensor
    """[n_users, K] long, indices into ``track_ids``; negative = padding"""
    topk_scores: torch.Tensor
    """[n_users, K] float"""

    @property
    def dimension(self) -> int:
        return int(self.track.shape[1])

    @property
    def k(self) -> int:
        return int(self.topk_items.shape[1])

    def problems(self) -> list[str]:
        """How the tensors disagree with the ids and with each other (empty when consistent)."""
        track, user, items, scores = self.track, self.user, self.topk_items, self.topk_scores
        out = []
        if track.ndim != 2 or track.shape[0] != len(self.track_ids):
            out.append(f"track is {tuple(track.shape)}, expected [{len(self.track_ids)}, d]")
        if user.ndim != 2 or user.shape != (len(self.user_ids), track.shape[-1]):
            out.append(f"user is {tuple(user.shape)}, expected "
                       f"[{len(self.user_ids)}, {track.shape[-1]}]")
        if items.ndim != 2 or items.shape[0] != len(self.user_ids) or scores.shape != items.shape:
            out.append(f"topk items {tuple(items.shape)} / scores {tuple(scores.shape)}, "
                       f"expected [{len(self.user_ids)}, K] both")
        elif items.numel() and int(items.max()) >= len(self.track_ids):
            out.append(f"topk items index {int(items.max())} >= {len(self.track_ids)} tracks")
        return out


@dataclass(frozen=True)
class SavedModel:
    """The content of ``model.pt``."""

    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any]
    """The training config as plain data (``TrainConfig.model_dump()``)."""
    export: Path | None
    """The ExportedGraph folder the run was trained on (absolute), if one was recorded."""
    epoch: int
    """The epoch selected on validation (0: an untrained model)."""


class RunFolder:
    """One training run folder at ``path`` (see the module docstring).

    ``save_*`` methods write one file each (creating the folder); ``load_*`` methods read one and
    raise :class:`~mmkg.errors.RunFolderError` with a one-line reason when it is missing or
    unreadable.
    """

    CONFIG = "config.json"
    METRICS = "metrics.json"
    MODEL = "model.pt"
    REFIT_MODEL = "refit.pt"
    CHECKPOINT = "checkpoint.pt"
    EMBEDDINGS = "embeddings.pt"
    CURVES = "curves.png"
    EXPORT = "export"
    """The export folder ``mmkg train`` makes inside the run folder when given no ``--export``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def file(self, name: str) -> Path:
        """The path of file ``name`` (one of the class constants) in this folder."""
        return self.path / name

    @property
    def curves_file(self) -> Path:
        """Where the training curves go (a plot is drawn by ``mmkg.train.fit``)."""
        return self.file(self.CURVES)

    def has(self, name: str) -> bool:
        return self.file(name).is_file()

    def clear_run(self, export: Path | None = None) -> list[str]:
        """Remove what an earlier run wrote here (every one of the class constants, and its
        export folder :attr:`EXPORT` unless ``export``, the export this run trains on, is that
        folder or inside it), so that a run stopped part-way never leaves a mix of two runs, e.g.
        the earlier ``embeddings.pt`` beside this run's ``model.pt`` for publish to pair, and a
        finished run holds nothing of the one it replaced. Returns the names removed."""
        names = [name for name in (self.CONFIG, self.METRICS, self.MODEL, self.REFIT_MODEL,
                                   self.CHECKPOINT, self.EMBEDDINGS, self.CURVES) if self.has(name)]
        for name in names:
            self.file(name).unlink()
        folder = self.file(self.EXPORT)
        if folder.is_dir() and not (export is not None and Path(export).resolve().is_relative_to(folder.resolve())):
            shutil.rmtree(folder)
            names.append(self.EXPORT)
        if names:
            log.info("%s: replacing the run there (removed %s)", self.path, ", ".join(names))
        return names

    # -- config and metrics (JSON) -----------------------------------------------------------------
    def save_config(self, config: dict[str, Any]) -> None:
        self._write_json(self.CONFIG, config)

    def load_config(self) -> dict[str, Any]:
        return self._read_json(self.CONFIG)

    def save_metrics(self, metrics: dict[str, Any]) -> None:
        self._write_json(self.METRICS, metrics)

    def load_metrics(self) -> dict[str, Any]:
        return self._read_json(self.METRICS)

    # -- the selected model and the export it was trained on --------------------------------------
    def save_model(self, state_dict: dict[str, torch.Tensor], *, config: dict[str, Any],
                   export: Path | None, epoch: int, name: str = MODEL) -> None:
        """Write ``model.pt`` (or ``name``: :attr:`REFIT_MODEL`); ``export`` is the
        ExportedGraph folder the run was trained on."""
        self._save_tensors(name, {"state_dict": state_dict, "config": config,
                                  "export": self._export_reference(export), "epoch": epoch})

    def load_model(self, name: str = MODEL) -> SavedModel:
        """Read ``model.pt`` (or ``name``: :attr:`REFIT_MODEL`)."""
        blob = self._load_tensors(name)
        try:
            export = blob["export"]
            return SavedModel(state_dict=blob["state_dict"], config=blob["config"],
                              export=None if export is None else self._resolve(export),
                              epoch=int(blob["epoch"]))
        except (KeyError, TypeError, ValueError) as e:
            raise RunFolderError(f"{self.file(name)}: not an mmkg model file ({e})") from e

    def load_embedded_model(self) -> SavedModel:
        """The model whose parameters produced ``embeddings.pt``: ``refit.pt`` when the run was
        refit (``metrics.json`` has ``refit``), else ``model.pt``.

        Raises:
            RunFolderError: a refit run without ``refit.pt`` (refit before mmkg kept it), or one
                whose refit has not finished (:meth:`check_refit_finished`).
        """
        self.check_refit_finished()
        if "refit" not in self.load_metrics():
            return self.load_model()
        if not self.has(self.REFIT_MODEL):
            raise RunFolderError(f"{self.path}: refit, but its refit parameters ({self.REFIT_MODEL}) "
                                 f"were not kept; run `{resume_command(self.path, self.load_model().export, '--refit')}` "
                                 "on it again")
        return self.load_model(self.REFIT_MODEL)

    def check_refit_finished(self) -> None:
        """Refuse a run whose config asks for a refit (``config.json``'s ``refit``; a folder
        without ``config.json`` asks for none) that has not finished (``metrics.json`` has no
        ``refit``): its ``embeddings.pt`` is then the evaluated
        run's, whose top-K lists hold the tracks users listened to in validation and test.

        Raises:
            RunFolderError: one line naming the command that completes the refit.
        """
        if self.has(self.CONFIG) and self.load_config().get("refit") and "refit" not in self.load_metrics():
            export = self.load_model().export
            raise RunFolderError(f"{self.path}: trained with --refit, and its refit has not finished "
                                 f"(its top-K lists would hold tracks users listened to); "
                                 f"`{resume_command(self.path, export)}` completes it")

    def export_manifest(self, export: Path | None = None) -> dict[str, Any]:
        """The ``manifest.json`` of ``export`` (which must pass :meth:`check_export`), or of the
        export recorded in ``model.pt``.

        Raises:
            RunFolderError: no export recorded, or its manifest is gone or unreadable; or
                ``export`` is not the export the run was trained on.
        """
        if export is not None:
            self.check_export(Path(export))
        export = export or self.load_model().export
        if export is None:
            raise RunFolderError(f"{self.path}: {self.MODEL} records no export folder; "
                                 "give the export it was trained on (--export)")
        path = Path(export) / EXPORT_MANIFEST
        if not path.is_file():
            raise RunFolderError(f"{path}: no such file; the run was trained on export {export}, "
                                 "which has moved or gone (give it with --export)")
        return _json_file(path)

    def check_export(self, given: Path, trained_on: Path | None = None) -> None:
        """Refuse ``given`` unless it is the export the run was trained on (``trained_on``, by
        default the one ``model.pt`` records), moved or exported again alike: its
        ``manifest.json`` must agree with the recorded export's on :data:`SAME_EXPORT_KEYS`.
        With the recorded export gone there is nothing to compare, and ``given`` passes.

        Raises:
            RunFolderError: the manifests differ (another split would put the model's training
                listens among the evaluated ones; another graph has other ids).
        """
        trained_on = trained_on or self.load_model().export
        if trained_on is None or Path(given).resolve() == Path(trained_on).resolve():
            return
        then, now = export_identity(Path(trained_on)), export_identity(Path(given))
        why = export_mismatch(then, now) if then is not None and now is not None else None
        if why:
            raise RunFolderError(
                f"{given} is not the export {self.path} was trained on ({trained_on}): {why}. Use "
                f"{trained_on}, or an export made with the same flags from the same data")

    # -- checkpoint ---------------------------------------------------------------------------------
    def save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Write ``checkpoint.pt`` atomically (a crash mid-write keeps the previous one)."""
        self._save_tensors(self.CHECKPOINT, checkpoint, atomic=True)

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint, or ``None`` when the run has none yet."""
        return self._load_tensors(self.CHECKPOINT) if self.has(self.CHECKPOINT) else None

    # -- embeddings ---------------------------------------------------------------------------------
    def save_embeddings(self, embeddings: Embeddings) -> None:
        """Write ``embeddings.pt``.

        Raises:
            ValueError: the tensors disagree with the ids (a bug of the caller).
        """
        problems = embeddings.problems()
        if problems:
            raise ValueError("; ".join(problems))
        self._save_tensors(self.EMBEDDINGS, {
            "track_ids": list(embeddings.track_ids), "user_ids": list(embeddings.user_ids),
            "track": embeddings.track, "user": embeddings.user,
            "topk": {"items": embeddings.topk_items, "scores": embeddings.topk_scores},
        })

    def load_embeddings(self) -> Embeddings:
        """Read and check ``embeddings.pt``, of a run whose refit, if its config asks for one,
        has finished (:meth:`check_refit_finished`).

        Raises:
            RunFolderError: missing, unreadable, tensors that disagree in shape, or a refit that
                has not finished.
        """
        path = self.file(self.EMBEDDINGS)
        self.check_refit_finished()
        blob = self._load_tensors(self.EMBEDDINGS)
        try:
            embeddings = Embeddings(
                track_ids=[str(i) for i in blob["track_ids"]],
                user_ids=[str(i) for i in blob["user_ids"]],
                track=blob["track"].float(), user=blob["user"].float(),
                topk_items=blob["topk"]["items"].long(), topk_scores=blob["topk"]["scores"].float())
        except (KeyError, TypeError, AttributeError) as e:
            raise RunFolderError(f"{path}: not a training embeddings file ({e})") from e
        problems = embeddings.problems()
        if problems:
            raise RunFolderError(f"{path}: " + "; ".join(problems))
        return embeddings

    def embeddings_digest(self) -> str:
        """The first 8 hex digits of the SHA-256 of ``embeddings.pt`` (a model version's id)."""
        return hashlib.sha256(self._need(self.EMBEDDINGS).read_bytes()).hexdigest()[:8]

    # -- plumbing -----------------------------------------------------------------------------------
    def _need(self, name: str) -> Path:
        if not self.path.is_dir():
            raise RunFolderError(f"{self.path}: no such run folder "
                                 "(expected the --out folder of `mmkg train`)")
        path = self.file(name)
        if path.is_file():
            return path
        if self.has(self.CONFIG) and not self.has(self.EMBEDDINGS):  # fit writes embeddings.pt last
            raise RunFolderError(f"{self.path}: no {name}: its training has not finished "
                                 f"(`{resume_command(self.path, self._checkpoint_export())}` goes on with it)")
        raise RunFolderError(f"{self.path}: no {name} (is this a `mmkg train --out` folder?)")

    def _checkpoint_export(self) -> Path | None:
        """The export folder the last checkpoint trained on; ``None`` without a checkpoint, or
        one that does not record it (an unreadable one included: this only names a command)."""
        try:
            checkpoint = self.load_checkpoint()
        except RunFolderError:
            return None
        path = (checkpoint or {}).get("export_path")
        return Path(path) if isinstance(path, str) else None

    def _write_json(self, name: str, data: dict[str, Any]) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.file(name).write_text(json.dumps(data, indent=2))

    def _read_json(self, name: str) -> dict[str, Any]:
        return _json_file(self._need(name))

    def _save_tensors(self, name: str, blob: dict[str, Any], *, atomic: bool = False) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.file(name)
        if not atomic:
            torch.save(blob, path)
            return
        tmp = path.with_suffix(".tmp")
        torch.save(blob, tmp)
        tmp.replace(path)

    def _load_tensors(self, name: str) -> dict[str, Any]:
        path = self._need(name)
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            raise RunFolderError(f"{path}: unreadable (it holds objects other than tensors and "
                                 "plain data; loading them could run code)") from e
        except (RuntimeError, OSError, EOFError, ValueError) as e:
            raise RunFolderError(f"{path}: unreadable ({str(e).splitlines()[0]})") from e
        if not isinstance(blob, dict):
            raise RunFolderError(f"{path}: expected a dict, found {type(blob).__name__}")
        return blob

    def _export_reference(self, export: Path | None) -> str | None:
        """``export`` relative to this folder when inside it (the folder can move), else absolute."""
        if export is None:
            return None
        export, here = Path(export).resolve(), self.path.resolve()
        return os.path.relpath(export, here) if export.is_relative_to(here) else str(export)

    def _resolve(self, reference: str) -> Path:
        path = Path(reference)
        return path if path.is_absolute() else (self.path / path).resolve()


def _json_file(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunFolderError(f"{path}: unreadable JSON ({e})") from e


def export_identity(export: Path) -> dict[str, Any] | None:
    """The part of the export folder ``export``'s ``manifest.json`` that another export must
    share to stand in for it (:data:`SAME_EXPORT_KEYS`); ``None`` without a manifest.

    Raises:
        RunFolderError: the manifest is unreadable.
    """
    path = Path(export) / EXPORT_MANIFEST
    if not path.is_file():
        return None
    manifest = _json_file(path)
    return {key: manifest.get(key) for key in SAME_EXPORT_KEYS}


def export_mismatch(then: dict[str, Any], now: dict[str, Any]) -> str | None:
    """Why an export of manifest ``now`` cannot stand in for one of manifest ``then`` (``"it
    differs in split, seed (…): its validation and test listens may be ones the model trained
    on"``), or ``None`` when they agree on :data:`SAME_EXPORT_KEYS`."""
    differ = [key for key in SAME_EXPORT_KEYS if then.get(key) != now.get(key)]
    if not differ:
        return None
    why = (f" ({_split_words(then)} then, {_split_words(now)} here): its validation and test "
           "listens may be ones the model trained on"
           if {"split", "seed"} & set(differ) else ": another graph than the one the model learned")
    return f"it differs in {', '.join(differ)}{why}"


def _split_words(manifest: dict[str, Any]) -> str:
    """``"split ratio 0.6:0.2:0.2, seed 0"``: how an export's manifest split its listens."""
    split = manifest.get("split") or {}
    ratios = ":".join(f"{r:g}" for r in split.get("ratios") or [])
    protocol = split.get("protocol", "?")
    return f"split {protocol}{' ' + ratios if ratios else ''}, seed {manifest.get('seed', '?')}"
