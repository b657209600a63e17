"""Read one input file into a :class:`Table` whose index is the file's line number.

Every cell is read as text (``str``, stripped; empty cells are ``""``) so that validation, not the parser,
decides what a bad value is and can say where it is. The index of ``Table.frame`` is the 1-based
line of the row in its file: with a header row the first data row is line 2; without one it is
line 1. For Parquet files the index is the 1-based row number. Blank lines keep their numbers and
are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from mmkg.ingest.validate import Validator

Header = bool | Literal["auto"]


@dataclass
class Table:
    """The rows of one file as text, indexed by line number."""

    name: str
    """How problems name the file: its path relative to the dataset folder (``tracks.csv``)."""
    path: Path
    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)

    def has(self, column: str) -> bool:
        return column in self.frame.columns


_BAD_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def read_table(
    path: Path,
    name: str,
    validator: Validator,
    *,
    sep: str = ",",
    header: Header = True,
    names: list[str] | None = None,
) -> Table | None:
    """Read a delimited text file or a ``.parquet`` file; ``None`` (and a problem) when unreadable.

    Args:
        header: ``True`` when the first line names the columns, ``False`` when there is no header
            (then ``names`` gives the columns), ``"auto"`` when a first line with no numeric
            field is a header (MKGCN files come both ways).
        names: column names for a file without a header; with ``header=True`` and ``names`` the
            header is read but the columns are renamed by position (KGCN's ``kg.txt``).
    """
    if path.suffix == ".parquet":
        return _read_parquet(path, name, validator)
    try:
        first = _first_line(path)
    except OSError as e:
        validator.file_problem(name, f"cannot read the file ({e.strerror}): expected a readable file")
        return None
    if first is None:
        expected = f"a header row ({sep.join(names)})" if names and header is True else "rows"
        validator.file_problem(name, f"the file is empty: expected {expected}")
        return None
    if header == "auto":
        header = not any(_is_number(f) for f in first.split(sep))
    try:
        frame = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, na_filter=False,
            skip_blank_lines=False, header=0 if header else None,
            names=None if header else names, engine="c",
        )
    except pd.errors.ParserError as e:
        m = _BAD_FIELDS.search(str(e))
        if m:
            validator.add(name, int(m.group(2)), "*",
                          f"expected {m.group(1)} fields, found {m.group(3)}", fatal=True)
        else:
            validator.file_problem(name, f"cannot parse the file: {e}")
        return None
    except UnicodeDecodeError as e:
        validator.file_problem(name, f"cannot decode the file as UTF-8 ({e.reason})")
        return None
    if header and names:
        if len(frame.columns) != len(names):
            validator.file_problem(
                name, f"expected {len(names)} columns ({', '.join(names)}), found {len(frame.columns)}"
            )
            return None
        frame.columns = names
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.apply(lambda column: column.str.strip())
    frame.index = pd.RangeIndex(2 if header else 1, len(frame) + (2 if header else 1))
    blank = (frame == "").all(axis=1)
    if blank.any():
        frame = frame[~blank]
    return Table(name, path, frame)


def _read_parquet(path: Path, name: str, validator: Validator) -> Table | None:
    try:
        frame = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several unrelated types for corrupt files
        validator.file_problem(name, f"cannot read the Parquet file: {e}")
        return None
    if frame.columns.empty:
        validator.file_problem(name, "the file is empty: expected columns")
        return None
    text = pd.DataFrame(index=pd.RangeIndex(1, len(frame) + 1))
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_float_dtype(values) and values.dropna().mod(1).eq(0).all():
            values = values.astype("Int64")  # integers with gaps come back as floats: 7.0 -> "7"
        text[str(column)] = values.astype(object).where(values.notna(), "").astype(str).to_numpy()
    return Table(name, path, text)


def _first_line(path: Path) -> str | None:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return line.rstrip("\r\n")
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
