"""Stream ``.npy`` files: append rows as they arrive (the header's row count is fixed on close),
and read them back in blocks.

A ``.npy`` file is a header (magic, version, a Python-literal dict with ``descr``,
``fortran_order`` and ``shape``) followed by the raw C-order data. :class:`NpyAppender` writes
a header of fixed size with a provisional row count, appends each block's bytes, and rewrites the
header in place with the real shape when closed, so the file never lives in memory and
``np.load(path, mmap_mode="r")`` reads it like any other ``.npy``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np

_MAGIC = b"\x93NUMPY\x01\x00"  # format version 1.0: a 2-byte little-endian header length
_HEADER_BYTES = 128             # magic + length + dict, padded with spaces: room for any shape here


class NpyAppender:
    """A ``.npy`` file of ``dtype`` rows of shape ``row_shape`` that grows by :meth:`append`.

    Args:
        path: the file to create (replaced when it exists).
        dtype: the element type; appended blocks are converted to it.
        row_shape: the shape of one row (``()`` for a 1-D array, ``(2,)`` for pairs).

    The file is valid only after :meth:`close` (or leaving the ``with`` block); until then its
    header says 0 rows.
    """

    def __init__(self, path: Path, dtype: np.dtype | type, row_shape: tuple[int, ...] = ()) -> None:
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.row_shape = tuple(row_shape)
        self.rows = 0
        self._file = open(self.path, "wb")
        self._file.write(self._header())

    def append(self, block: np.ndarray) -> None:
        """Write ``block`` (shape ``[n, *row_shape]``) after the rows already written.

        Raises:
            ValueError: the block's row shape is not ``row_shape``.
        """
        block = np.ascontiguousarray(block, dtype=self.dtype)
        if block.shape[1:] != self.row_shape:
            raise ValueError(f"{self.path.name}: rows of shape {block.shape[1:]}, expected {self.row_shape}")
        self._file.write(block.data)
        self.rows += len(block)

    def close(self) -> None:
        """Fix the header's shape and close the file (idempotent)."""
        if self._file.closed:
            return
        self._file.seek(0)
        self._file.write(self._header())
        self._file.close()

    def __enter__(self) -> "NpyAppender":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _header(self) -> bytes:
        fields = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": (self.rows, *self.row_shape)}
        text = repr(fields).encode("latin1")
        room = _HEADER_BYTES - len(_MAGIC) - 2
        if len(text) + 1 > room:
            raise ValueError(f"{self.path.name}: a .npy header of {len(text)} bytes does not fit")
        return _MAGIC + struct.pack("<H", room) + text.ljust(room - 1) + b"\n"


def read_blocks(path: Path, rows: int) -> Iterator[np.ndarray]:
    """The array in the ``.npy`` file ``path``, ``rows`` rows at a time, by plain reads: unlike
    a memory map, the pages read do not stay in the process's resident set."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        if fortran:
            raise ValueError(f"{path.name}: a Fortran-order array cannot be read in row blocks")
        row_items = int(np.prod(shape[1:], dtype=np.int64))
        for start in range(0, shape[0], rows):
            count = min(rows, shape[0] - start)
            yield np.fromfile(f, dtype=dtype, count=count * row_items).reshape(count, *shape[1:])
