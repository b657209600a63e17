"""The built-in media kinds (``lyrics``, ``cover``, ``audio``): where a file may live, how big it
may be, and a cheap check that it decodes.

Three guards, in this order, each a one-line reason naming the file:

1. **place** (:func:`resolve_catalog_media`, at ingest): a catalog's media path, relative to the
   catalog folder, must resolve — symlinks followed — inside the catalog folder or inside
   ``media.root`` (``MMKG_MEDIA_ROOT``); ``../``, absolute paths and symlinks leading
   elsewhere, and symlink loops, are refused, so no host path is ever stored in ``Track.lyrics``.
   At feature time (:func:`check_stored_media`) a stored path must still be the real path of a
   regular file (no symlink swapped in since ingest).
2. **size**: the file is at most ``media.max_<kind>_bytes`` (checked with ``stat``, before any
   read); a cover claims at most ``media.max_cover_pixels`` pixels (read from its header).
3. **decode**: UTF-8 for lyrics, ``Image.verify`` for covers, the header for audio.

The limits are :class:`mmkg.config.MediaSettings`, passed to every check (the CLI passes the
loaded ones; the default is :data:`mmkg.config.MEDIA`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mmkg.config import MEDIA, MediaSettings
from mmkg.ingest.features.registry import MEDIA_KINDS, register_media

log = logging.getLogger(__name__)

# libsndfile notes "data : 132300 (should be 66128)" when a header claims more than the file holds.
_SIZE_MISMATCH = re.compile(r"^\s*(\w+)\s*:.*\(should be", re.MULTILINE)
# libsndfile's error when its MP3 decoder gives up on an existing file: misleading there.
_NO_FILE = re.compile(r"File does not exist or is not a regular file")


URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
"""The start of a URL (``https://``, ``s3://``): a media cell that names no file on disk."""


def resolve_catalog_media(kind: str, root: Path, cell: str,
                          settings: MediaSettings = MEDIA) -> tuple[Path | None, str | None]:
    """Where the media path ``cell`` of a catalog in ``root`` leads, and whether it may be read.

    Returns ``(real path, None)`` for a decodable ``kind`` file inside the catalog folder (or
    ``settings.root``) within the size caps; else ``(None, reason)``, a short phrase such as
    ``"expected a non-empty UTF-8 text file: resolves to /etc/passwd, outside the catalog folder
    /data/cat (allow another folder with media.root, ...)"``.

    Raises:
        ValueError: unknown ``kind``.
    """
    media = MEDIA_KINDS.get(kind)
    if URL.match(cell):
        return None, (f"{media.expected}: a URL, not a file: mmkg reads media from disk (download "
                      "the files into the catalog folder, or under the media.root setting)")
    try:
        real = (Path(root) / cell).resolve()
        allowed = [Path(root).resolve()] + ([settings.root.resolve()] if settings.root else [])
    except (RuntimeError, OSError) as e:  # Python reports a symlink loop as RuntimeError
        reason = "a symlink loop" if isinstance(e, RuntimeError) else (e.strerror or str(e))
        return None, f"{media.expected}: cannot resolve the path: {reason}"
    if not any(real.is_relative_to(folder) for folder in allowed):
        return None, (f"{media.expected}: resolves to {real}, outside the catalog folder "
                      f"{' and the media root '.join(str(f) for f in allowed)} (allow another "
                      "folder with the media.root setting, MMKG_MEDIA_ROOT)")
    problem = check_media(kind, real, settings)
    return (None, problem) if problem else (real, None)


def check_stored_media(kind: str, path: Path, settings: MediaSettings = MEDIA) -> str | None:
    """:func:`check_media` of a path stored on a track (joined to its catalog's root), which must
    also still be the file's real path: absolute, with no symlink and no ``..`` on the way
    (ingest stored it resolved)."""
    media = MEDIA_KINDS.get(kind)
    path = Path(path)
    try:
        if not path.is_absolute() or path.resolve() != path:
            return (f"{media.expected}: {path} is not the real path of a file any more (a symlink "
                    "on the way); re-ingest the catalog")
    except (RuntimeError, OSError):
        return f"{media.expected}: cannot resolve {path}: a symlink loop"
    return check_media(kind, path, settings)


def check_media(kind: str, path: Path, settings: MediaSettings = MEDIA) -> str | None:
    """Return ``None`` when ``path`` is an existing, decodable ``kind`` file within the size caps
    of ``settings`` (default: those in effect), else a short message saying what was expected and
    why the file is not it.

    Args:
        kind: a registered media kind (``"lyrics"``, ``"cover"``, ``"audio"``, ...).
        path: the file to check.

    Raises:
        ValueError: unknown ``kind``.
    """
    media = MEDIA_KINDS.get(kind)
    path = Path(path)
    try:
        info = path.stat()
    except (RuntimeError, OSError) as e:
        reason = "a symlink loop" if isinstance(e, RuntimeError) else e.strerror
        if isinstance(e, FileNotFoundError):
            reason = "no such file"
        return f"{media.expected}: {reason} {path}"
    if not stat.S_ISREG(info.st_mode):
        return f"{media.expected}: no such file {path} (not a regular file)"
    cap = settings.max_bytes(kind)
    if info.st_size > cap:
        return (f"{media.expected}: {path} is {info.st_size:,} bytes, more than the "
                f"{cap:,} allowed (media.max_{kind}_bytes)")
    try:
        reason = media.check(path, settings)
    except OSError as e:
        reason = e.strerror or str(e)
    return None if reason is None else f"{media.expected}: {reason}"


def read_lyrics(path: Path) -> str:
    """The text of a lyrics file (UTF-8, a leading BOM dropped)."""
    return Path(path).read_text(encoding="utf-8-sig")


def file_fingerprint(path: Path, *, chunk: int = 1 << 20) -> str:
    """``"<size>:<mtime_ns>:<sha256 hex>"`` of a file: what :mod:`.compute` stores on a feature
    to tell when the file it was computed from changed (see :func:`same_file`)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        info = os.fstat(handle.fileno())
        while block := handle.read(chunk):
            digest.update(block)
    return f"{info.st_size}:{info.st_mtime_ns}:{digest.hexdigest()}"


def same_file(path: Path, fingerprint: str | None) -> bool:
    """Whether ``path`` still holds the content ``fingerprint`` (:func:`file_fingerprint`) was
    taken of: same size, and the same modification time or else the same SHA-256 (so only a
    touched file is hashed again). Like ``make`` and ``rsync``, it trusts a file whose size and
    modification time are both unchanged; ``mmkg features --recompute`` covers the rest."""
    if not fingerprint or fingerprint.count(":") != 2:
        return False
    size, mtime, digest = fingerprint.split(":")
    try:
        info = Path(path).stat()
    except OSError:
        return False
    if str(info.st_size) != size:
        return False
    if str(info.st_mtime_ns) == mtime:
        return True
    try:
        return file_fingerprint(path).rsplit(":", 1)[1] == digest
    except OSError:
        return False


@register_media("lyrics", "expected a non-empty UTF-8 text file")
def check_lyrics(path: Path, settings: MediaSettings) -> str | None:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return f"invalid UTF-8 at byte {e.start}"
    return None if text.strip() else "the file is empty"


@register_media("cover", "expected a readable image file (PNG/JPEG/WebP/...)")
def check_cover(path: Path, settings: MediaSettings) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            problem = cover_too_large(path, image.size, settings)
            if problem:
                return problem
            image.verify()
    except Image.DecompressionBombError as e:  # Pillow refuses > 2 × its own limit at open
        claimed = re.search(r"\((\d+) pixels\)", str(e))
        pixels = f"{int(claimed.group(1)):,}" if claimed else "too many"
        return (f"{path} claims {pixels} pixels, more than the {settings.max_cover_pixels:,} "
                "allowed (media.max_cover_pixels)")
    except UnidentifiedImageError:
        return "not an image format Pillow recognises"
    except (SyntaxError, ValueError, EOFError) as e:  # Pillow's "broken file" errors
        return f"corrupt image ({e})"
    return None


def cover_too_large(path: Path, size: tuple[int, int], settings: MediaSettings) -> str | None:
    """Why an image of ``size`` (width, height) may not be decoded, or ``None``."""
    width, height = size
    if width * height > settings.max_cover_pixels:
        return (f"{path} claims {width}×{height} = {width * height:,} pixels, more than the "
                f"{settings.max_cover_pixels:,} allowed (media.max_cover_pixels)")
    return None


@contextlib.contextmanager
def decoder_messages_logged(path: Path) -> Iterator[None]:
    """Route what the C decoders write straight to file descriptor 2 during the block (libmpg123,
    inside libsndfile: ``Warning: Xing stream size off by more than 1%, ...`` for an MP3 with
    bytes after its last frame) to this module's log at debug level, naming ``path``, instead of
    the user's terminal. The descriptor belongs to the process: the block must be short."""
    sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode(errors="replace").strip()
            if text:
                log.debug("%s: the decoder said: %s", path, " ".join(text.split()))


@register_media("audio", "expected a readable audio file (MP3/OGG/FLAC/WAV)")
def check_audio(path: Path, settings: MediaSettings) -> str | None:
    import soundfile

    if path.stat().st_size == 0:
        return "the file is empty"
    try:
        with decoder_messages_logged(path):
            info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as e:
        reason = str(e).split(":", 1)[-1].strip()
        if not reason or _NO_FILE.search(reason):  # check_media found a regular file: no decoder took it
            return "no MP3, OGG, FLAC or WAV data that libsndfile decodes"
        return reason
    if info.frames <= 0:
        return "no audio frames"
    mismatch = _SIZE_MISMATCH.search(info.extra_info)
    if mismatch:
        return f"the {mismatch.group(1)} chunk is shorter than its header says (truncated file?)"
    return None
