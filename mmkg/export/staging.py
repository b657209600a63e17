"""Build a folder beside its target and move it in whole: a failed export never leaves half a
folder, and a replaced export stays intact until the new one is complete."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mmkg.errors import ExportError
from mmkg.files import owner_only


@contextmanager
def staged_folder(target: Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder ``.<name>.staging-<pid>`` next to ``target``; when the
    ``with`` block succeeds it becomes ``target`` (one rename; an old ``target`` is renamed
    aside first and deleted after), when it fails it is deleted and ``target`` is untouched.
    The block runs under :func:`mmkg.files.owner_only`: the folder is 0700, its files 0600.

    Raises:
        ExportError: ``target`` exists, is not empty, and ``replace`` is false.
    """
    target = Path(target)
    if target.exists() and any(target.iterdir()) and not replace:
        raise ExportError(f"{target} is not empty")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed run of a process with our pid
    with owner_only():  # user ids, listens and embeddings: 0700/0600
        staging.mkdir()
        try:
            yield staging
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
