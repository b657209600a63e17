"""The built-in media kinds (``lyrics``, ``cover``, ``audio``): cheap checks that a file decodes.

:func:`check_media` runs during catalog validation (once per referenced file), so the checks
decode as little as possible: UTF-8 for lyrics, ``Image.verify`` for covers, the header for audio.
"""

from __future__ import annotations

import re
from pathlib import Path

from mmkg.ingest.features.registry import media_kind, register_media

# libsndfile notes "data : 132300 (should be 66128)" when a header claims more than the file holds.
_SIZE_MISMATCH = re.compile(r"^\s*(\w+)\s*:.*\(should be", re.MULTILINE)


def check_media(kind: str, path: Path) -> str | None:
    """Return ``None`` when ``path`` is an existing, decodable ``kind`` file, else a short message
    saying what was expected and why the file is not it.

    Args:
        kind: a registered media kind (``"lyrics"``, ``"cover"``, ``"audio"``, ...).
        path: the file to check.

    Raises:
        ValueError: unknown ``kind``.
    """
    media = media_kind(kind)
    path = Path(path)
    if not path.is_file():
        return f"{media.expected}: no such file {path}"
    try:
        reason = media.check(path)
    except OSError as e:
        reason = e.strerror or str(e)
    return None if reason is None else f"{media.expected}: {reason}"


def read_lyrics(path: Path) -> str:
    """The text of a lyrics file (UTF-8, a leading BOM dropped)."""
    return Path(path).read_text(encoding="utf-8-sig")


@register_media("lyrics", "expected a non-empty UTF-8 text file")
def check_lyrics(path: Path) -> str | None:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return f"invalid UTF-8 at byte {e.start}"
    return None if text.strip() else "the file is empty"


@register_media("cover", "expected a readable image file (PNG/JPEG/WebP/...)")
def check_cover(path: Path) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except UnidentifiedImageError:
        return "not an image format Pillow recognises"
    except (SyntaxError, ValueError, EOFError) as e:  # Pillow's "broken file" errors
        return f"corrupt image ({e})"
    return None


@register_media("audio", "expected a readable audio file (WAV/FLAC/OGG)")
def check_audio(path: Path) -> str | None:
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
