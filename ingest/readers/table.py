"""Read one input file into a :class:`Table` whose index is the file's line number.

Every cell is read as text (``str``, stripped; empty cells are ``""``) so that validation, not the parser,
decides what a bad value is and can say where it is. The index of ``Table.frame`` is the 1-based
line of the row in its file: with a header row the first data row is line 2; without one it is
line 1; a quoted cell spanning several lines moves every later row's number by as many lines,
so the index is always the *physical* line where the row starts. For Parquet files the index is
the 1-based row number. Blank lines keep their numbers and are dropped.

Control characters (NUL, and every C0 character but tab, line feed and carriage return) make a
file unusable: the parser would silently cut a cell at a NUL. They are reported at their line and
column before parsing, as is the first byte of a file that is not UTF-8. A header row must name
every column once. A path that is a directory, a FIFO or a device is named for what it is. A cell
longer than :data:`mmkg.ingest.validate.MAX_TEXT_LENGTH`
characters is a problem at its line and column (the row is rejected).
"""

from __future__ import annotations

import csv
import io
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
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
    sep: str | None = None
    """The delimiter the file was read with (``None``: Parquet)."""

    def __len__(self) -> int:
        return len(self.frame)

    def has(self, column: str) -> bool:
        return column in self.frame.columns


_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]")  # C1 in UTF-8: 2 bytes
_CONTROL_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
"""Control characters a cell must not hold (C0 but tab and line ends, DEL, C1): in the raw bytes
of a UTF-8 file, and in the text of a Parquet cell."""


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
    kind = file_kind(path)
    if kind is not None:
        validator.file_problem(name, f"{kind}, not a file: expected a regular file")
        return None
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
    binary = _binary_format(path)
    if binary:
        validator.file_problem(name, f"not UTF-8 text: the file looks like {binary}; expected a "
                                     "UTF-8 delimited text file (e.g. saved as 'CSV UTF-8')")
        return None
    if header == "auto":
        header = not any(_is_number(f) for f in first.split(sep))
    if header and not names and _bad_header(first, sep, name, validator):
        return None
    if _control_characters(path, name, validator, sep, None if header else (names or [])):
        return None
    records = _records(path, sep)
    if records.unclosed is not None:
        line, field = records.unclosed
        columns = names if names and not header else first.split(sep)
        column = columns[field].strip() if field < len(columns) else "*"
        validator.add(name, line, column, "a quoted cell is never closed: expected a closing "
                      "quote (\")", fatal=True)
        return None
    body = _body(records, header)
    expected = len(names) if names and not header else int(records.fields[~records.blank][0])
    uneven = body & ~records.blank & (records.fields != expected)
    for line, found in zip(records.starts[uneven], records.fields[uneven]):
        validator.broken_row(name, int(line), f"expected {expected} fields, found {found}")
    try:
        if uneven.any():
            frame = _uneven_frame(path, sep, records, body, expected, names)
        else:
            frame = pd.read_csv(
                path, sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                skip_blank_lines=False, header=0 if header else None,
                names=None if header else names, engine="c",
            )
    except pd.errors.ParserError as e:
        validator.file_problem(name, f"cannot parse the file: {e}")
        return None
    except UnicodeDecodeError:
        _not_utf8(path, name, validator, sep, None if header else (names or []))
        return None
    if header and names:
        if len(frame.columns) != len(names):
            validator.file_problem(
                name, f"expected {len(names)} columns ({', '.join(names)}), found {len(frame.columns)}"
            )
            return None
        frame.columns = names
    if len(frame) != body.sum():
        validator.file_problem(name, f"cannot parse the file: {len(frame)} rows read, "
                                     f"{body.sum()} records counted")
        return None
    frame.index = pd.Index(records.starts[body])
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.apply(lambda column: column.str.strip())
    blank = (frame == "").all(axis=1)
    if blank.any():
        frame = frame[~blank]
    table = Table(name, path, frame, sep)
    validator.text_lengths(table)
    return table


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
    for column in text.columns:
        bad = text[column].str.contains(_CONTROL_TEXT, regex=True)
        for line, cell in text[column][bad].items():
            char = re.search(_CONTROL_TEXT, cell).group()
            validator.add(name, int(line), column, _control_message(char), fatal=True)
    if validator.fatal:
        return None
    table = Table(name, path, text)
    validator.text_lengths(table)
    return table


def file_kind(path: Path) -> str | None:
    """What ``path`` is when it exists but is not a regular file (symlinks followed): ``"a
    directory"``, ``"a FIFO (named pipe)"``, ``"a character device"``...; None for a regular
    file or nothing at all. Reading a FIFO or a device would block or never end."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return None


def _bad_header(first: str, sep: str, name: str, validator: Validator) -> bool:
    """Report empty and repeated names in the header row ``first`` (line 1; an empty name by its
    1-based position); True if any."""
    cells = [cell.strip() for cell in next(csv.reader([first], delimiter=sep))]
    bad = False
    for position, cell in enumerate(cells, start=1):
        if not cell:
            validator.add(name, 1, str(position), f"column {position} has no name: expected a "
                          "name in every header cell", fatal=True)
            bad = True
        elif cell in cells[:position - 1]:
            validator.add(name, 1, cell, f"column {position} repeats the name {cell!r} of column "
                          f"{cells.index(cell) + 1}: expected each column once", fatal=True)
            bad = True
    return bad


def _not_utf8(path: Path, name: str, validator: Validator, sep: str,
              names: list[str] | None) -> None:
    """Report the first byte of ``path`` that is not UTF-8 at its line and column."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
        start = 0
    except UnicodeDecodeError as e:
        start = e.start
    line = data.count(b"\n", 0, start) + 1
    line_start = data.rfind(b"\n", 0, start) + 1
    header = names if names is not None else \
        data.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r").split(sep)
    field = data.count(sep.encode(), line_start, start)
    column = header[field].strip() if field < len(header) else "*"
    validator.add(name, line, column, f"byte 0x{data[start]:02x} is not UTF-8 (a Windows-1252 or "
                  "Latin-1 file?): expected UTF-8 text (e.g. saved as 'CSV UTF-8')", fatal=True)


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


def _uneven_frame(path: Path, sep: str, records: Records, body: np.ndarray, expected: int,
                  names: list[str] | None) -> pd.DataFrame:
    """The rows of a file some of whose records have another number of fields than ``expected``
    (each already a problem at its line), read with :mod:`csv` and cut or padded to
    ``expected`` cells: every record stays a row (rejected), so that an id on a broken line is
    still known and the rows naming it are cascaded, not "not found". Column names: ``names``,
    else the header record's cells."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=sep))
    if len(rows) != len(records.starts):
        raise pd.errors.ParserError(f"{len(rows)} records read, {len(records.starts)} counted")
    header = [] if body.all() else rows[int(np.argmax(~records.blank))]
    return pd.DataFrame([(row + [""] * expected)[:expected] for row, keep in zip(rows, body) if keep],
                        columns=names or header, dtype=str)


def _body(records: Records, header: bool) -> np.ndarray:
    """Which of ``records`` hold rows: all of them, or with a ``header`` those after the first
    record that is not blank."""
    body = np.ones(len(records.starts), dtype=bool)
    if header:
        body[:int(np.argmax(~records.blank)) + 1] = False
    return body


@dataclass(frozen=True)
class Records:
    """The records of a delimited file (header included), as the parser splits them: where each
    starts (its physical line), how many fields it has and whether it is blank (a line of white
    space); and ``unclosed``, ``(line, field index)`` of a quoted cell that is never closed (then
    no record is counted)."""

    starts: np.ndarray
    fields: np.ndarray
    blank: np.ndarray
    unclosed: tuple[int, int] | None = None


_WHITE_SPACE = np.zeros(256, dtype=bool)
_WHITE_SPACE[[9, 10, 13, 32]] = True


def _records(path: Path, sep: str) -> Records:
    """:class:`Records` of ``path``. A record is blank when it is a line of white space. A file
    without quotes is counted with numpy (a record is a line); one with quotes is read with
    :mod:`csv` (the parser's rules: a quote opens a quoted cell only at the start of a cell;
    inside one, ``""`` is a literal quote and separators and line feeds are text), after an odd
    number of quotes is checked for a cell never closed."""
    raw = path.read_bytes()
    if b'"' not in raw:
        data = np.frombuffer(raw, dtype=np.uint8)
        ends = np.flatnonzero(data == 10)  # a line's line feed belongs to it
        if len(data) and data[-1] != 10:
            ends = np.append(ends, len(data))
        begins = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
        seps = np.flatnonzero(data == ord(sep))
        fields = np.searchsorted(seps, ends) - np.searchsorted(seps, begins) + 1
        content = np.logical_or.reduceat(~_WHITE_SPACE[data], begins) if len(data) else begins > 0
        return Records(np.arange(1, len(ends) + 1), fields, (fields == 1) & ~content)
    text = raw.decode("utf-8", errors="replace")
    if raw.count(b'"') % 2:
        unclosed = _unclosed_quote(text, sep)
        if unclosed is not None:
            empty = np.zeros(0, dtype=np.int64)
            return Records(empty, empty, empty.astype(bool), unclosed)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    # (the line where the record ends, its fields; 0 for a blank line, read as no cell or one)
    rows = np.array([(reader.line_num, len(row) if len(row) != 1 else int(bool(row[0].strip())))
                     for row in reader], dtype=np.int64).reshape(-1, 2)
    starts = np.concatenate(([1], rows[:-1, 0] + 1)) if len(rows) else rows[:, 0]
    return Records(starts, np.maximum(rows[:, 1], 1), rows[:, 1] == 0)


def _unclosed_quote(text: str, sep: str) -> tuple[int, int] | None:
    """``(line, field index)`` of a quoted cell of ``text`` that is never closed, or None (the
    parser's rules, as :func:`_records`)."""
    line, field, cell_start, quoted = 1, 0, 0, None
    for m in re.finditer('""|"|\n|' + re.escape(sep), text):
        token, pos = m.group(), m.start()
        if quoted is not None:
            if token == '"':
                quoted = None
            elif token == "\n":
                line += 1
        elif token == '"' and pos == cell_start:
            quoted = (line, field)
        elif token == sep:
            field, cell_start = field + 1, m.end()
        elif token == "\n":
            line, field, cell_start = line + 1, 0, m.end()
    return quoted


BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe", "UTF-16 (little-endian) text"), (b"\xfe\xff", "UTF-16 (big-endian) text"),
    (b"\x1f\x8b", "a gzip archive"), (b"PK\x03\x04", "a zip archive (an .xlsx workbook?)"),
    (b"\xd0\xcf\x11\xe0", "an Office document (an .xls workbook?)"),
    (b"PAR1", "a Parquet file (name it .parquet)"),
)
"""Leading bytes of files that are not delimited UTF-8 text, and what they are."""


def _binary_format(path: Path) -> str | None:
    """What the file is when its first bytes say it is not UTF-8 text (else ``None``): a known
    signature, or UTF-16 without a byte-order mark (a NUL beside every ASCII character)."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    for signature, what in BINARY_SIGNATURES:
        if head.startswith(signature):
            return what
    if len(head) >= 4 and head.count(b"\x00") * 3 >= len(head):
        return "UTF-16 text (no byte-order mark)"
    return None


def _control_characters(path: Path, name: str, validator: Validator, sep: str,
                        names: list[str] | None) -> bool:
    """Report every line holding a control character (``file:line:column``); True if any."""
    data = path.read_bytes()
    if _CONTROL.search(data) is None:
        return False
    header = names if names is not None else data.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r").split(sep)
    reported: set[int] = set()
    for m in _CONTROL.finditer(data):
        line = data.count(b"\n", 0, m.start()) + 1
        if line in reported:
            continue
        reported.add(line)
        line_start = data.rfind(b"\n", 0, m.start()) + 1
        field = data.count(sep.encode(), line_start, m.start())
        column = header[field].strip() if field < len(header) else "*"
        validator.add(name, line, column, _control_message(m.group().decode("utf-8")), fatal=True)
        if len(reported) >= 50:
            break
    return True


def _control_message(char: str) -> str:
    return (f"control character U+{ord(char):04X} in a cell: expected text without control "
            "characters (a NUL would silently cut the cell short)")
