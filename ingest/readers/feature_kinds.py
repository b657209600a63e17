"""``features.toml``: the modality of each precomputed feature file (``catalog`` and ``mkgcn``).

Format: one table per feature file, ``[NAME] kind = "Audio"`` with ``kind`` one of
:class:`mmkg.schema.Modality`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from mmkg.ingest.readers.table import file_kind
from mmkg.ingest.validate import Validator
from mmkg.schema import Modality


def feature_kinds(path: Path, name: str, validator: Validator) -> dict[str, Modality]:
    """The ``[NAME] kind = "Audio"`` entries of a ``features.toml`` (``{}`` when absent)."""
    if not path.exists():
        return {}
    kind = file_kind(path)
    if kind is not None:
        validator.file_problem(name, f"{kind}, not a file: expected a regular file")
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        validator.file_problem(name, f"cannot read TOML: {e}")
        return {}
    kinds: dict[str, Modality] = {}
    for feature, entry in data.items():
        kind = entry.get("kind") if isinstance(entry, dict) else None
        try:
            kinds[feature] = Modality(kind)
        except ValueError:
            validator.file_problem(name, f"[{feature}] kind = {kind!r}: expected "
                                   f"one of {', '.join(m.value for m in Modality)}", "kind")
    return kinds
