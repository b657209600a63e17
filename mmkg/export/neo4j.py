"""Stream a selection out of Neo4j into id maps and numpy arrays, with bounded memory.

Every query is a ``cypher/export_*.cypher`` file run through ``session.execute_read`` (on a
cluster: a follower or read replica). Queries that
start from known nodes take their ids in chunks (``$ids``) and answer each chunk with one
record of collected rows; whole-label id queries answer in pages of ``page`` ids per record. Bolt's
cost is per record (≈70 µs on a loaded machine against ≈1 µs per list element), so this is ~20×
faster than a record per row, while memory stays bounded by one chunk. Each transaction function
turns its chunk into numpy arrays (never a list of dict records); a retried transaction simply
rebuilds its chunk. KG edges are gathered in :class:`~mmkg.export.columns.Column` chunks; the
listens, the bulk of the data, are handed to the caller one chunk of users at a time
(:meth:`GraphReader.listen_chunks`) and never gathered here.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from neo4j import Driver, ManagedTransaction, Result
from neo4j.exceptions import Neo4jError
from neo4j.time import Date, DateTime
from rich.progress import Progress

from mmkg.errors import DatabaseError, ExportError
from mmkg.export.columns import Column
from mmkg.export.idmap import IdMap
from mmkg.export.selection import Selection
from mmkg.config import BATCH
from mmkg.graph import TrustedCypher, open_session, render
from mmkg.schema import KG_LABEL_NAMES, KG_LABELS, NON_KG_RELS, Label, Modality

log = logging.getLogger(__name__)

T = TypeVar("T")
CanonicalEtype = tuple[str, str, str]

_MODALITY_NAMES = [m.value for m in Modality]
_OUTLIERS_SHOWN = 20


@dataclass
class Listens:
    """Distinct (user, track) interactions: index arrays, ``plays`` and ``ts`` (NaN = absent)."""

    user: np.ndarray   # int64 [n]
    track: np.ndarray  # int64 [n]
    plays: np.ndarray  # float64 [n]
    ts: np.ndarray     # float64 [n], epoch seconds


class GraphReader:
    """Reads one selection; records the names of the queries it ran in :attr:`queries_used`.

    Args:
        driver: an open driver (never created here).
        database: the database every session names.
        chunk_ids: how many ids one ``$ids`` query takes (its rows come as one record).
        page: how many ids one record of a whole-label id query carries.
        progress: a rich progress display to report to, or None.
    """

    def __init__(self, driver: Driver, database: str, *, chunk_ids: int = BATCH.export,
                 page: int = 10_000, progress: Progress | None = None) -> None:
        self.driver = driver
        self.database = database
        self.chunk_ids = chunk_ids
        self.page = page
        self.progress = progress
        self.queries_used: set[str] = set()
        self.matched: list[tuple[str, int]] = []
        """Each criterion of the last :meth:`tracks` (as words) and how many tracks it kept alone."""

    # -- nodes ---------------------------------------------------------------------------------
    def tracks(self, selection: Selection) -> IdMap:
        """The selected tracks (see :mod:`mmkg.export.selection`)."""
        if selection.is_all:
            return IdMap(self._ids("export_node_ids", label=Label.TRACK))
        criteria = []
        if selection.genres:
            criteria.append((_listed("genre", selection.genres),
                             lambda: self._ids("export_tracks_by_genre", genres=list(selection.genres))))
        if selection.users:
            criteria.append((_listed("listened to by user", selection.users),
                             lambda: self._ids("export_tracks_by_users", users=list(selection.users))))
        if selection.where:
            criteria.append((f"where {selection.where}",
                             lambda: self._ids("export_tracks_where", predicate=selection.where)))
        if selection.listened:
            criteria.append(("listened to", lambda: self._ids("export_tracks_listened")))
        sets = [set(read()) for _, read in criteria]
        self.matched = [(what, len(ids)) for (what, _), ids in zip(criteria, sets)]
        return IdMap(set.intersection(*sets))

    def why_no_track(self, selection: Selection) -> str:
        """Why the last :meth:`tracks` of ``selection`` kept no track, on one line: what each
        criterion kept alone, and the genres there are when a genre criterion kept none."""
        kept = "; ".join(f"{what}: {n:,} track(s)" for what, n in self.matched)
        if all(n for _, n in self.matched):
            return f"{kept}; no track meets every criterion"
        if selection.genres and not self.matched[0][1]:  # the genre criterion comes first
            names = self._read("genre_known", _single("names"), genre="")
            kept += "; genres (by id or name): " + (", ".join(map(repr, names)) or "none")
        return kept

    def unlistened_tracks(self) -> int:
        """How many tracks of the graph nobody has listened to."""
        return self._read("export_count_unlistened", _single("n"))

    def users(self, selection: Selection, tracks: IdMap) -> IdMap:
        """All users, the listed ones that exist, or the listeners of the selected tracks (for
        a selection of every track with a listen: every user with a listen, in one query)."""
        if selection.is_all:
            return IdMap(self._ids("export_node_ids", label=Label.USER))
        if selection.every_listened_track:
            return IdMap(self._ids("export_users_with_listens"))
        name = "export_existing_users" if selection.users else "export_listeners"
        ids = list(selection.users) if selection.users else tracks.ids
        found: set[str] = set()
        for chunk in self._chunks(ids, f"users ({name})"):
            found.update(self._ids(name, ids=chunk))
        return IdMap(found)

    def kg_nodes(self, selection: Selection, tracks: IdMap) -> dict[str, IdMap]:
        """The KG nodes to export, by label (``Track`` = the selected tracks; empty labels left out).

        Unrestricted: every node of each KG label. Otherwise a breadth-first walk of
        ``selection.hops`` KG relationships from the selected tracks that never enters an
        unselected track.
        """
        if selection.is_all:
            maps = {label.value: IdMap(self._ids("export_node_ids", label=label))
                    for label in KG_LABELS if label is not Label.TRACK}
        else:
            found: dict[str, set[str]] = {label.value: set() for label in KG_LABELS}
            frontier: dict[str, list[str]] = {Label.TRACK.value: tracks.ids}
            for hop in range(selection.hops):
                reached: dict[str, set[str]] = {}
                for label, ids in frontier.items():
                    for chunk in self._chunks(ids, f"KG hop {hop + 1} from {label}"):
                        for kg_label, node_id in self._read(
                            "export_kg_neighbours", _list_consumer("nodes"), label=Label(label),
                            ids=chunk, kg_labels=KG_LABEL_NAMES, non_kg=sorted(NON_KG_RELS),
                        ):
                            if kg_label == Label.TRACK.value or node_id in found[kg_label]:
                                continue  # selected tracks are known; others are not entered
                            reached.setdefault(kg_label, set()).add(node_id)
                for label, ids in reached.items():
                    found[label] |= ids
                frontier = {label: sorted(ids) for label, ids in reached.items()}
            maps = {label: IdMap(ids) for label, ids in found.items() if label != Label.TRACK}
        maps = {label: m for label, m in maps.items() if len(m)}
        return {Label.TRACK.value: tracks, **maps}

    # -- relationships -------------------------------------------------------------------------
    def kg_edges(self, nodes: dict[str, IdMap]) -> dict[CanonicalEtype, tuple[np.ndarray, np.ndarray]]:
        """Every KG relationship whose two ends are in ``nodes``, grouped by canonical edge type,
        as (source index, target index) int64 arrays."""
        columns: dict[CanonicalEtype, tuple[Column, Column]] = {}
        for label, id_map in nodes.items():
            for chunk in self._chunks(id_map.ids, f"KG edges from {label}"):
                part = self._read("export_kg_edges", _edge_consumer(label, nodes),
                                  label=Label(label), ids=chunk, kg_labels=KG_LABEL_NAMES,
                                  non_kg=sorted(NON_KG_RELS))
                for etype, (src, dst) in part.items():
                    cols = columns.setdefault(etype, (Column(np.int64), Column(np.int64)))
                    cols[0].extend(src)
                    cols[1].extend(dst)
        return {etype: (s.to_numpy(), d.to_numpy()) for etype, (s, d) in sorted(columns.items())}

    def listen_chunks(self, users: IdMap, tracks: IdMap) -> Iterator[Listens]:
        """The ``LISTENED`` interactions between exported users and tracks, one chunk of
        ``chunk_ids`` users at a time: each chunk holds *every* interaction of its users, one per
        distinct pair, sorted by (user, track) whatever order Neo4j streamed them in. When Neo4j
        holds several relationships for a pair, the smallest (plays, ts) is kept (logged)."""
        duplicates = 0
        for chunk in self._chunks(users.ids, "listens"):
            user, track, plays, ts = self._read("export_listens", _listen_consumer(users, tracks), ids=chunk)
            order = np.lexsort((ts, plays, track, user))
            user, track, plays, ts = user[order], track[order], plays[order], ts[order]
            first = np.r_[True, (np.diff(user) != 0) | (np.diff(track) != 0)] if len(user) else \
                np.zeros(0, dtype=bool)
            duplicates += int(len(first) - first.sum())
            yield Listens(user[first], track[first], plays[first], ts[first])
        if duplicates:
            log.warning("%d duplicate LISTENED relationships ignored", duplicates)

    # -- features ------------------------------------------------------------------------------
    def modalities(self, tracks: IdMap) -> dict[str, dict[str, Any]]:
        """``{name: {"kind", "values": float32 [n_tracks, dim], "mask": bool [n_tracks]}}``.

        Raises:
            ExportError: a feature name whose vectors disagree in dimension (or with their ``dim``
                property, or in modality), naming the offending track ids.
        """
        shapes: Counter[tuple[str, int, int, str | None]] = Counter()
        for chunk in self._chunks(tracks.ids, "feature shapes"):
            shapes.update(self._read("export_feature_shapes", _shape_consumer, ids=chunk,
                                     modalities=_MODALITY_NAMES))
        expected = self._check_shapes(shapes, tracks)
        out = {name: {"kind": kind, "values": np.zeros((len(tracks), dim), dtype=np.float32),
                      "mask": np.zeros(len(tracks), dtype=bool)}
               for name, (dim, kind) in sorted(expected.items())}
        for chunk in self._chunks(tracks.ids, "features"):
            self._read("export_features", _feature_consumer(tracks, out), ids=chunk)
        return out

    def _check_shapes(self, shapes: Counter, tracks: IdMap) -> dict[str, tuple[int, str]]:
        by_name: dict[str, Counter] = {}
        for (name, dim, size, kind), n in shapes.items():
            by_name.setdefault(name, Counter())[(dim, size, kind)] += n
        expected: dict[str, tuple[int, str]] = {}
        problems = []
        for name, combos in sorted(by_name.items()):
            sizes, kinds = Counter(), Counter()
            for (dim, size, kind), n in combos.items():
                sizes[size] += n
                kinds[kind] += n
            dim, kind = sizes.most_common(1)[0][0], kinds.most_common(1)[0][0]
            if kind and all(size == dim and prop in (-1, dim) and k == kind
                            for prop, size, k in combos):
                expected[name] = (dim, kind)
                continue
            bad: list[str] = []
            for chunk in self._chunks(tracks.ids, f"feature {name} outliers"):
                bad += self._ids("export_feature_outliers", ids=chunk, name=name, dim=dim,
                                 kind=kind or "", limit=_OUTLIERS_SHOWN - len(bad))
                if len(bad) >= _OUTLIERS_SHOWN:
                    break
            found = ", ".join(f"size {size} dim {'-' if prop < 0 else prop} kind {k} ({n} tracks)"
                              for (prop, size, k), n in sorted(combos.items(), key=str))
            problems.append(f"feature {name!r}: expected dim {dim} and kind {kind}; found "
                            f"{found}; offending tracks: {', '.join(sorted(bad))}")
        if problems:
            raise ExportError("inconsistent features:\n" + "\n".join(problems))
        return expected

    # -- plumbing ------------------------------------------------------------------------------
    def _ids(self, name: str, /, *, label: Label | None = None, predicate: str | None = None,
             **params: Any) -> list[str]:
        return self._read(name, _list_consumer("ids"), label=label, predicate=predicate,
                          page=self.page, **params)

    def _read(self, name: str, consume: Callable[[Result], T], /, *, label: Label | None = None,
              predicate: str | None = None, **params: Any) -> T:
        slots: dict[str, Label | TrustedCypher] = {}
        if label is not None:
            slots["label"] = Label(label)
        if predicate is not None:
            slots["predicate"] = TrustedCypher(predicate)
        query = render(name, **slots)
        self.queries_used.add(name)
        try:
            with open_session(self.driver, self.database, read=True) as session:
                return session.execute_read(_consume, query, params, consume)
        except Neo4jError as e:
            if predicate is not None:
                raise ExportError(f"Neo4j rejected the track predicate {predicate!r}: {e.message}") from e
            raise DatabaseError(f"export query {name} failed: {e.message}") from e

    def _chunks(self, ids: Sequence[str], what: str) -> Iterator[list[str]]:
        task = self.progress.add_task(what, total=len(ids)) if self.progress else None
        for start in range(0, len(ids), self.chunk_ids):
            chunk = list(ids[start:start + self.chunk_ids])
            yield chunk
            if task is not None:
                self.progress.advance(task, len(chunk))


def _listed(what: str, values: Sequence[str], shown: int = 3) -> str:
    """``what`` and the first ``shown`` of ``values``: "genre 'rock' or 'jazz'", "user 'u1', ...
    or 'u9' (and 7 more)"."""
    quoted = [repr(v) for v in values[:shown]]
    more = f" (and {len(values) - shown:,} more)" if len(values) > shown else ""
    head = ", ".join(quoted[:-1])
    return f"{what} {head + ' or ' if head else ''}{quoted[-1]}{more}"


# -- transaction functions and record consumers (module level: retried transactions rerun them) --
def _consume(tx: ManagedTransaction, query: str, params: dict, consume: Callable[[Result], T]) -> T:
    return consume(tx.run(query, params))


def _single(key: str) -> Callable[[Result], Any]:
    """The column ``key`` of the one record."""
    return lambda result: result.single(strict=True)[key]


def _list_consumer(key: str) -> Callable[[Result], list]:
    """The concatenation of the list column ``key`` over all records."""
    def consume(result: Result) -> list:
        return [item for record in result for item in record[key]]
    return consume


def _shape_consumer(result: Result) -> Counter:
    return Counter({(r["name"], r["dim"], r["size"], r["kind"]): r["n"] for r in result})


def _edge_consumer(label: str, nodes: dict[str, IdMap]):
    """Rows ``[src, rel, dst_label, dst]`` → ``{(label, rel, dst_label): (src idx, dst idx)}``,
    dropping targets outside ``nodes``."""
    src_map = nodes[label]
    empty = IdMap(())

    def consume(result: Result) -> dict[CanonicalEtype, tuple[np.ndarray, np.ndarray]]:
        grouped: dict[CanonicalEtype, tuple[list[int], list[int]]] = {}
        for record in result:
            for src, rel, dst_label, dst in record["edges"]:
                d = nodes.get(dst_label, empty).get(dst)
                if d < 0:
                    continue
                pair = grouped.setdefault((label, rel, dst_label), ([], []))
                pair[0].append(src_map.get(src))
                pair[1].append(d)
        return {etype: (np.asarray(s, dtype=np.int64), np.asarray(d, dtype=np.int64))
                for etype, (s, d) in grouped.items()}
    return consume


def _listen_consumer(users: IdMap, tracks: IdMap):
    """Rows ``[user, track, plays, ts]`` → (user idx, track idx, plays, ts) arrays, dropping
    tracks outside the selection."""
    def consume(result: Result) -> tuple[np.ndarray, ...]:
        rows = [(users.get(u), t, _number(p), _epoch(ts))
                for record in result for u, tid, p, ts in record["listens"]
                if (t := tracks.get(tid)) >= 0]
        if not rows:
            return tuple(np.empty(0, dtype=d) for d in (np.int64, np.int64, np.float64, np.float64))
        user, track, plays, ts = zip(*rows)
        return (np.asarray(user, dtype=np.int64), np.asarray(track, dtype=np.int64),
                np.asarray(plays, dtype=np.float64), np.asarray(ts, dtype=np.float64))
    return consume


def _feature_consumer(tracks: IdMap, out: dict[str, dict[str, Any]]):
    """Rows ``[track, name, vector]`` written into the preallocated ``out`` arrays (idempotent)."""
    def consume(result: Result) -> None:
        for record in result:
            for track_id, name, vector in record["features"]:
                feature = out[name]
                k = tracks.get(track_id)
                feature["values"][k] = vector
                feature["mask"][k] = True
    return consume


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _epoch(value: Any) -> float:
    """A ``ts`` property as epoch seconds: numbers as they are, temporal values converted."""
    if value is None:
        return float("nan")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, DateTime):
        return value.to_native().timestamp()
    if isinstance(value, Date):
        return float(value.to_ordinal() - 719163) * 86400.0  # days since 1970-01-01
    raise ExportError(f"unsupported LISTENED.ts value {value!r} (expected epoch seconds or a datetime)")
