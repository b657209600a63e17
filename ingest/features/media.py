"""Cheap checks that a media file exists and decodes, and reading lyrics text.

:func:`check_media` runs during catalog validation (once per referenced file), so it decodes as
little as possible: UTF-8 for lyrics, ``Image.verify`` for covers, the header for audio.
"""

from __future__ import annotations

import re
from pathlib import Path

from mmkg.ingest.features.spec import MEDIA_KINDS

_EXPECTED = {
    "lyrics": "expected a non-empty UTF-8 text file",
    "cover": "expected a readable image file (PNG/JPEG/WebP/...)",
    "audio": "expected a readable audio file (WAV/FLAC/OGG)",
}
# libsndfile notes "data : 132300 (should be 66128)" when a header claims more than the file holds.
_SIZE_MISMATCH = re.compile(r"^\s*(\w+)\s*:.*\(should be", re.MULTILINE)


def check_media(kind: str, path: Path) -> str | None:
    """Return ``None`` when ``path`` is an existing, decodable ``kind`` file, else a short message
    saying what was expected and why the file is not it.

    Args:
        kind: ``"lyrics"``, ``"cover"`` or ``"audio"``.
        path: the file to check.

    Raises:
        ValueError: unknown ``kind``.
    """
    if kind not in MEDIA_KINDS:
        raise ValueError(f"unknown media kind {kind!r}; expected one of {', '.join(MEDIA_KINDS)}")
    path = Path(path)
    if not path.is_file():
        return f"{_EXPECTED[kind]}: no such file {path}"
    try:
        reason = _CHECKS[kind](path)
    except OSError as e:
        reason = e.strerror or str(e)
    return None if reason is None else f"{_EXPECTED[kind]}: {reason}"


def read_lyrics(path: Path) -> str:
    """The text of a lyrics file (UTF-8, a leading BOM dropped)."""
    return Path(path).read_text(encoding="utf-8-sig")


def _check_lyrics(path: Path) -> str | None:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return f"invalid UTF-8 at byte {e.start}"
    return None if text.strip() else "the file is empty"


def _check_cover(path: Path) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except UnidentifiedImageError:
        return "not an image format Pillow recognises"
    except (SyntaxError, ValueError, EOFError) as e:  # Pillow's "broken file" errors
        return f"corrupt image ({e})"
    return None


def _check_audio(path: Path) -> str | None:
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as e:
        return str(e).split(":", 1)[-1].strip() or "undecodable"
    if info.frames <= 0:
        return "no audio frames"
    mismatch = _SIZE_MISMATCH.search(info.extra_info)
    if mismatch:
        return f"the {mismatch.group(1)} chunk is shorter than its header says (truncated file?)"
    return None


_CHECKS = {"lyrics": _check_lyrics, "cover": _check_cover, "audio": _check_audio}
