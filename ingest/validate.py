"""Validation of input tables before anything is written: every problem as ``file:line:column: message``.

Conventions (the same for every format):

- ``file`` is the path relative to the dataset folder (``tracks.csv``, ``features/text_bert.csv``);
- ``line`` is the 1-based line in that file (the CSV header is line 1, so the first data row is
  line 2; files without a header start at line 1); for Parquet files it is the 1-based row number;
  problems about a whole file (missing, empty, unreadable, missing column) are reported at line 1;
- ``column`` is the column **name** (from the header, or from the format's documented names for
  header-less files such as KGCN's ``kg.txt``: ``head``, ``relation``, ``tail``); ``*`` when the
  problem is about the whole row or file;
- ``message`` says what was found and what was expected.

A problem is *fatal* when it concerns a file rather than rows (then ``--skip-invalid`` cannot
help); a *cascaded* problem rejects a row only because a row it depends on was rejected (it is
reported with ``--skip-invalid`` but not listed among the causes of an :class:`IngestError`).

Repeated rows are data, not errors (a knowledge graph is a set): a row whose key repeats an
earlier row's and whose values are the same is *merged* into it (left out, counted in
:attr:`Validator.merged`). Rows whose key repeats with *different* values are conflicts; what
happens to them is the validator's ``on_conflict`` policy (:data:`ON_CONFLICT`) where a table has
one (interactions), and a problem otherwise (two different tracks under one id).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmkg.errors import SchemaError
from mmkg.schema import MAX_ID_LENGTH, kg_relation_type

WHOLE = "*"
"""The ``column`` of a problem about a whole row or file."""

MAX_TEXT_LENGTH = 65_536
"""Longest cell (characters) of any other column (titles, names, relation names...): Neo4j's
importer (``--bulk``) cannot read a field longer than its 4 MiB buffer, and online ingest
would store a multi-megabyte title every answer then carries."""
INT64_MAX = 2**63 - 1
MAX_EPOCH_SECONDS = 253_402_300_799
"""9999-12-31T23:59:59Z, the last second an ISO-8601 date-time can name."""
MIN_EPOCH_SECONDS = -9_223_372_036
"""1677-09-21T00:12:44Z, the first whole second pandas' datetimes (nanoseconds in 64 bits) hold:
an ISO-8601 date-time before it does not parse, so epoch seconds before it are refused too."""

ON_CONFLICT: dict[str, str] = {
    "error": "a problem for each conflicting row (the default)",
    "first": "keep the first row of each key",
    "last": "keep the last row of each key",
    "max": "keep one row per key with the largest value of each property",
    "sum": "a listening log, one row per play or session: plays add up per key (a row without "
           "plays is one play), every other property the largest",
}
"""Policies for rows that repeat a key with different values (``mmkg ingest --on-conflict``)."""


@dataclass(frozen=True)
class Problem:
    """One reason to reject a row (or a whole file)."""

    file: str
    line: int
    column: str
    message: str
    fatal: bool = False
    cascaded: bool = False

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


@dataclass
class Validator:
    """Collects problems and the rejected lines of each file; every check is vectorised with pandas."""

    on_conflict: str = "error"
    """What to do with conflicting repeated keys (:data:`ON_CONFLICT`)."""
    problems: list[Problem] = field(default_factory=list)
    merged: dict[str, int] = field(default_factory=dict)
    """Rows left out because they repeat an earlier row, by ``"<file>: <what>"``."""
    _rejected: dict[str, set[int]] = field(default_factory=dict)
    _merged: dict[str, set[int]] = field(default_factory=dict)
    _broken: dict[str, set[int]] = field(default_factory=dict)
    """Lines whose cells are not where the header says (:meth:`broken_row`): no other problem."""

    def __post_init__(self) -> None:
        if self.on_conflict not in ON_CONFLICT:
            raise ValueError(f"unknown on_conflict {self.on_conflict!r}: expected one of "
                             f"{', '.join(ON_CONFLICT)}")

    # -- recording ------------------------------------------------------------------------------
    def add(self, file: str, line: int, column: str, message: str, *, fatal: bool = False,
            cascaded: bool = False) -> None:
        if not fatal and int(line) in self._broken.get(file, ()):
            return  # its cells are shifted: what they hold says nothing more
        self.problems.append(Problem(file, int(line), column, message, fatal, cascaded))
        self._rejected.setdefault(file, set()).add(int(line))

    def broken_row(self, file: str, line: int, message: str) -> None:
        """A row (of a delimited file) that does not split into the header's columns: one
        problem for the whole row, and no other problem on its line."""
        self.add(file, line, WHOLE, message)
        self._broken.setdefault(file, set()).add(int(line))

    def file_problem(self, file: str, message: str, column: str = WHOLE) -> None:
        """A problem that makes a whole file unusable."""
        self.add(file, 1, column, message, fatal=True)

    def add_rows(self, table, mask: pd.Series, column: str, messages: Iterable[str] | str,
                 *, cascaded: bool = False) -> None:
        """Record a problem for every row of ``table`` where ``mask`` is true."""
        lines = table.frame.index[mask.to_numpy()]
        if isinstance(messages, str):
            messages = [messages] * len(lines)
        for line, message in zip(lines, messages):
            self.add(table.name, line, column, message, cascaded=cascaded)

    # -- reading the outcome --------------------------------------------------------------------
    @property
    def causes(self) -> list[Problem]:
        """Problems that are not merely consequences of other problems, in file/line order."""
        return sorted((p for p in self.problems if not p.cascaded),
                      key=lambda p: (p.file, p.line, p.column))

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]

    def rejected(self, table) -> np.ndarray:
        """Boolean mask over ``table``'s rows: rejected so far."""
        lines = self._rejected.get(table.name, set())
        return table.frame.index.isin(list(lines))

    def kept(self, table) -> np.ndarray:
        """Boolean mask over ``table``'s rows: neither rejected nor merged into an earlier row."""
        gone = self._rejected.get(table.name, set()) | self._merged.get(table.name, set())
        return ~table.frame.index.isin(list(gone))

    def valid(self, table) -> pd.DataFrame:
        """The rows of ``table`` with no problem so far, each key once (merged rows left out)."""
        return table.frame[self.kept(table)]

    def _merge(self, table, lines, reason: str) -> None:
        lines = [int(x) for x in lines]
        if lines:
            self._merged.setdefault(table.name, set()).update(lines)
            key = f"{table.name}: {reason}"
            self.merged[key] = self.merged.get(key, 0) + len(lines)

    # -- checks ---------------------------------------------------------------------------------
    def require_columns(self, table, required: Iterable[str]) -> bool:
        """Every ``required`` column is present (a fatal problem per missing one; when the header
        reads as one column holding another delimiter, the problem asks about it)."""
        ok = True
        for column in required:
            if not table.has(column):
                found = ", ".join(table.frame.columns) or "none"
                self.file_problem(table.name, f"missing required column {column!r} (found: {found})"
                                  + _delimiter_hint(table), column)
                ok = False
        return ok

    def not_empty(self, table, column: str, what: str = "a value") -> None:
        self.add_rows(table, table.frame[column] == "", column, f"expected {what}, found an empty cell")

    def id_length(self, table, column: str) -> None:
        """Cells of ``column`` are at most :data:`MAX_ID_LENGTH` characters long."""
        lengths = table.frame[column].str.len()
        long = lengths > MAX_ID_LENGTH
        self.add_rows(table, long, column, [
            f"an id of {n:,} characters: expected at most {MAX_ID_LENGTH:,}" for n in lengths[long]])

    def text_lengths(self, table) -> None:
        """Every cell of ``table`` is at most :data:`MAX_TEXT_LENGTH` characters long (ids are
        held to :data:`MAX_ID_LENGTH` by :meth:`id_length`)."""
        for column in table.frame.columns:
            lengths = table.frame[column].str.len()
            long = lengths > MAX_TEXT_LENGTH
            if long.any():
                self.add_rows(table, long, column, [
                    f"a cell of {n:,} characters: expected at most {MAX_TEXT_LENGTH:,} (longer "
                    f"than {MAX_TEXT_LENGTH:,} characters)" for n in lengths[long]])

    def integers(self, table, column: str, *, minimum: int | None = None,
                 required: bool = False, ids: bool = False) -> pd.Series:
        """Parse ``column`` as integers (nullable ``Int64``); bad cells are problems. A whole
        number written with a zero fraction (``3.0``, as a float column holding gaps exports it)
        is that integer, unless the cells are ``ids``, used as written."""
        written = table.frame[column]
        empty = written == ""
        if required:
            self.add_rows(table, empty, column, "expected an integer, found an empty cell")
        text = written if ids else written.str.replace(r"\.0*$", "", regex=True)
        ok = written.str.fullmatch(r"[+-]?\d+" if ids else r"[+-]?\d+(\.0*)?")
        bad = ~ok & ~empty
        self.add_rows(table, bad, column,
                      [f"expected an integer, found {v!r}" for v in written[bad]])
        long = ok & (text.str.lstrip("+-").str.lstrip("0").str.len() >= 19)
        exact = text[long].map(int)  # near or past 64 bits: floats would round, so Python ints
        outside = (exact > INT64_MAX) | (exact < -INT64_MAX - 1)
        self.add_rows(table, outside.reindex(text.index, fill_value=False).astype(bool), column, [
            f"expected an integer of at most {INT64_MAX} (64 bits), found {v!r}"
            for v in text[long][outside]])
        values = pd.to_numeric(text.where(ok & ~long), errors="coerce").astype("Int64")
        if (~outside).any():
            values.loc[exact.index[~outside]] = exact[~outside].tolist()
        if minimum is not None:
            low = (values < minimum).fillna(False)
            self.add_rows(table, low, column,
                          [f"expected an integer >= {minimum}, found {v}" for v in values[low]])
        return values

    def floats(self, table, column: str, *, required: bool = False) -> pd.Series:
        """Parse ``column`` as finite floats (NaN where empty; a column of whole numbers too is
        stored as floats); bad cells are problems."""
        text = table.frame[column]
        empty = text == ""
        if required:
            self.add_rows(table, empty, column, "expected a number, found an empty cell")
        values = pd.to_numeric(text.where(~empty), errors="coerce").astype(float)  # 5 is 5.0
        bad = ~empty & ~np.isfinite(values)
        self.add_rows(table, bad, column,
                      [f"expected a finite number, found {v!r}" for v in text[bad]])
        return values

    def timestamps(self, table, column: str) -> pd.Series:
        """Parse ISO-8601 or epoch-second cells into whole epoch seconds (``Int64``, UTC; before
        1970 negative), a fraction of a second dropped (floor) whichever way it is written."""
        text = table.frame[column]
        empty = text == ""
        epoch = text.str.fullmatch(r"[+-]?\d+(\.\d+)?")
        seconds = pd.to_numeric(text.where(epoch), errors="coerce")
        iso = ~epoch & ~empty
        if iso.any():
            parsed = pd.to_datetime(text.where(iso), format="ISO8601", utc=True, errors="coerce")
            seconds = seconds.where(~iso, (parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1))
        bad = ~empty & seconds.isna()
        self.add_rows(table, bad, column, [
            f"expected an ISO-8601 date-time or epoch seconds, found {v!r}" for v in text[bad]
        ])
        late = (seconds > MAX_EPOCH_SECONDS).fillna(False)
        self.add_rows(table, late, column, [
            f"expected epoch seconds up to {MAX_EPOCH_SECONDS} (9999-12-31), found {v!r}"
            + (" (epoch milliseconds? divide by 1,000)" if float(v) <= MAX_EPOCH_SECONDS * 1000 else "")
            for v in text[late]])
        early = (seconds < MIN_EPOCH_SECONDS).fillna(False)
        self.add_rows(table, early, column, [
            f"expected epoch seconds from {MIN_EPOCH_SECONDS} (1677-09-21), found {v!r}"
            for v in text[early]])
        return np.floor(seconds.where(~late & ~early).astype(float)).astype("Int64")

    def unique(self, table, columns: list[str], what: str | None = None,
               values: dict[str, pd.Series] | None = None,
               policy: bool = False, summed: str | None = None) -> dict[str, pd.Series]:
        """Each key ``columns`` once among the rows still valid.

        A row repeating an earlier row's key with the same values (every column of the table,
        or ``values``, the parsed properties, when given) is merged into it. A row repeating the
        key with different values is a problem, unless ``policy`` is set: then the validator's
        ``on_conflict`` decides (``first``/``last``: one row per key survives; ``max``: the first
        survives holding the largest of each of ``values``; ``sum``: see :meth:`_add_up`, which
        adds up ``summed``). Returns ``values``, resolved.
        """
        values = dict(values or {})
        label = what or " ".join(columns)
        if policy and self.on_conflict == "sum":
            return self._add_up(table, columns, label, values, summed)
        live = self.kept(table)
        frame = table.frame[live]
        repeated = frame.duplicated(columns, keep="first")
        if not repeated.any():
            return values
        compare = (pd.DataFrame({k: v.loc[frame.index] for k, v in values.items()})
                   if values else frame)
        group = frame.groupby(columns, sort=False).ngroup().to_numpy()
        lines = pd.Series(frame.index.to_numpy(), index=frame.index)
        first = lines.groupby(group).transform("first").to_numpy()
        same = np.ones(len(frame), dtype=bool)
        for column in compare.columns:
            cells = compare[column].astype(object).where(compare[column].notna(), None)
            same &= cells.to_numpy() == cells.loc[first].to_numpy()
        self._merge(table, frame.index[repeated.to_numpy() & same], f"repeated {label}")
        conflict = repeated.to_numpy() & ~same
        if not conflict.any():
            return values
        # every row of a key with a conflict, exact repeats already merged
        in_conflict = pd.Series(group).isin(group[conflict]).to_numpy() & (~repeated.to_numpy() | ~same)
        if not policy or self.on_conflict == "error":
            keys = frame[columns][conflict]
            hint = ", or choose --on-conflict first|last|max|sum" if policy else ""
            messages = [
                f"duplicate {label} {(k[0] if len(k) == 1 else k)!r} with different values: "
                f"expected each once (first at line {f}){hint}"
                for k, f in zip(keys.itertuples(index=False, name=None), first[conflict])]
            self.add_rows(table, pd.Series(conflict, index=frame.index).reindex(
                table.frame.index, fill_value=False), columns[0], messages)
            return values
        rows = frame.index[in_conflict]
        groups = group[in_conflict]
        keep_last = self.on_conflict == "last"
        survivor = pd.Series(rows, index=rows).groupby(groups).transform(
            "last" if keep_last else "first").to_numpy()
        if self.on_conflict == "max":
            for name, series in values.items():
                best = series.loc[rows].groupby(groups).transform("max")
                series = series.copy()
                series.loc[rows] = best.to_numpy()
                values[name] = series
        self._merge(table, rows[rows != survivor],
                    f"conflicting {label} (--on-conflict {self.on_conflict})")
        return values

    def _add_up(self, table, columns: list[str], label: str, values: dict[str, pd.Series],
                summed: str | None) -> dict[str, pd.Series]:
        """``--on-conflict sum``: the valid rows are the events of a log, so every row of a key,
        exact repeats too, is one event. The first row of each key survives, holding the sum of
        ``summed`` over the key's rows (an empty or absent cell counts 1: a row is one play) and
        the largest of each other value; the others are merged and counted. A sum past 64 bits is
        a problem on each row of its key."""
        frame = self.valid(table)
        if summed is not None:
            given = values.get(summed, pd.Series(pd.NA, index=table.frame.index, dtype="Int64"))
            values[summed] = given.fillna(1)
            group = frame.groupby(columns, sort=False).ngroup().to_numpy()
            counts = values[summed].loc[frame.index]
            near = counts.astype(float).groupby(group).transform("sum") >= 2.0**62  # floats round
            exact = counts[near].map(int).groupby(group[near.to_numpy()]).transform(
                lambda column: sum(column.tolist()))  # Python ints: int64 sums wrap silently
            too_big = (exact > INT64_MAX).reindex(counts.index, fill_value=False).astype(bool)
            self.add_rows(table, too_big.reindex(table.frame.index, fill_value=False), summed,
                          f"the {summed} of this {label} add up past {INT64_MAX} (64 bits): "
                          f"expected a smaller sum")
            frame = self.valid(table)
        repeated = frame.duplicated(columns, keep="first")
        if not repeated.any():
            return values
        group = frame.groupby(columns, sort=False).ngroup().to_numpy()
        for name, series in values.items():
            rows = series.loc[frame.index].groupby(group)
            series = series.copy()
            series.loc[frame.index] = rows.transform("sum" if name == summed else "max").to_numpy()
            values[name] = series
        self._merge(table, frame.index[repeated.to_numpy()], f"{label} added up (--on-conflict sum)")
        return values

    def references(self, table, column: str, target, *, target_name: str,
                   rows: pd.Series | None = None, target_column: str = "id") -> None:
        """Every non-empty ``column`` cell (of ``rows``, default all) is the ``target_column`` of a
        row of ``target`` (a :class:`Table`, or ``None`` when that file is absent).

        A cell naming a row that exists but was rejected is a *cascaded* problem.
        """
        values = table.frame[column]
        present = values != ""
        if rows is not None:
            present &= rows
        if target is None:
            self.add_rows(table, present, column, [
                f"{column} {v!r} not found: expected an id from {target_name}, which is absent "
                "(a folder holds the row of every id it names, one an earlier ingest wrote too)"
                for v in values[present]
            ])
            return
        ids = target.frame[target_column]
        missing = present & ~values.isin(ids)
        self.add_rows(table, missing, column, [
            f"{column} {v!r} not found in {target.name}: expected an existing id"
            for v in values[missing]
        ])
        valid = ids[self.kept(target)]
        cascaded = present & ~missing & ~values.isin(valid)
        if cascaded.any():
            first_line = pd.Series(ids.index, index=ids.to_numpy()).groupby(level=0).first()
            self.add_rows(table, cascaded, column, [
                f"{column} {v!r} refers to rejected {target.name} line {first_line.loc[v]}"
                for v in values[cascaded]
            ], cascaded=True)

    def relation_names(self, table, column: str) -> None:
        """Cells must be valid KG relation names (:func:`mmkg.schema.kg_relation_type`)."""
        names = table.frame[column]
        for name in names.unique():
            try:
                kg_relation_type(name)
            except SchemaError as e:
                self.add_rows(table, names == name, column, str(e))

    def vectors(self, table, columns: list[str]) -> np.ndarray:
        """Parse feature columns ``f1..fD`` into ``float32 [rows, D]``; every cell of a row not
        rejected already (a row of too few fields) must be finite."""
        text = table.frame[columns]
        empty = (text == "").to_numpy()
        values = text.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        dim = len(columns)
        finite = np.isfinite(values)
        suspect = (empty.any(axis=1) | ~finite.all(axis=1)) & self.kept(table)
        for row in np.flatnonzero(suspect):
            line = table.frame.index[row]
            if empty[row].all():
                self.add(table.name, line, columns[0], f"empty vector: expected {dim} numbers")
            elif empty[row].any():
                k = int(empty[row].argmax())
                self.add(table.name, line, columns[k], f"vector dimension mismatch: expected {dim} "
                         f"numbers, found {int((~empty[row]).sum())}")
            else:
                k = int((~finite[row]).argmax())
                self.add(table.name, line, columns[k], _non_finite_message(text.iat[row, k]))
        return values.astype(np.float32)


def _non_finite_message(cell: str) -> str:
    try:
        value = float(cell)
    except ValueError:
        return f"expected a number, found {cell!r}"
    kind = "NaN" if value != value else "infinite value"
    return f"{kind} in vector: expected finite numbers"


_DELIMITERS = {",": "commas", "\t": "tabs", ";": "semicolons", "|": "pipes"}


def _delimiter_hint(table) -> str:
    """``"; one column: a file separated by semicolons? expected commas"`` when ``table``'s header
    reads as one column holding a delimiter other than the one it was read with; else ``""``."""
    columns, sep = list(table.frame.columns), table.sep
    if len(columns) != 1 or sep not in _DELIMITERS:
        return ""
    other = next((d for d in _DELIMITERS if d != sep and d in str(columns[0])), None)
    if other is None:
        return ""
    return f"; one column: a file separated by {_DELIMITERS[other]}? expected {_DELIMITERS[sep]}"
