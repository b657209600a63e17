"""Columns that grow in fixed-size numpy chunks, so streamed rows never become Python lists."""

from __future__ import annotations

import numpy as np

CHUNK_ROWS = 1 << 16


class Column:
    """An append-only 1-D numpy column of ``dtype``, stored as a list of full chunks plus one open chunk.

    Memory is ``O(rows · itemsize)``; appending a block copies it once.
    """

    def __init__(self, dtype: np.dtype | type, chunk_rows: int = CHUNK_ROWS) -> None:
        self.dtype = np.dtype(dtype)
        self._chunk_rows = chunk_rows
        self._full: list[np.ndarray] = []
        self._open = np.empty(chunk_rows, dtype=self.dtype)
        self._fill = 0

    def __len__(self) -> int:
        return len(self._full) * self._chunk_rows + self._fill

    def extend(self, values: np.ndarray | list) -> None:
        """Append ``values`` (anything ``np.asarray`` converts to ``dtype``)."""
        values = np.asarray(values, dtype=self.dtype)
        start = 0
        while start < len(values):
            take = min(self._chunk_rows - self._fill, len(values) - start)
            self._open[self._fill:self._fill + take] = values[start:start + take]
            self._fill += take
            start += take
            if self._fill == self._chunk_rows:
                self._full.append(self._open)
                self._open = np.empty(self._chunk_rows, dtype=self.dtype)
                self._fill = 0

    def to_numpy(self) -> np.ndarray:
        """All values as one contiguous array (a copy)."""
        return np.concatenate([*self._full, self._open[:self._fill]])
