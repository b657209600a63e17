"""Read and validate a ``catalog`` folder (``docs/contracts.md`` §1) into :class:`GraphData`.

Tables are checked in dependency order (artists, genres, tags, users → albums → tracks →
track_tags, interactions, features, triples) and every reference is checked against the rows
still valid, so a row that depends on a rejected row is rejected too (a *cascaded* problem).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mmkg.config import MEDIA, MediaSettings
from mmkg.ingest.features import MEDIA_KINDS, resolve_catalog_media
from mmkg.ingest.featureset import FeatureSet
from mmkg.ingest.graphdata import GraphData, NodeSet, RelSet, property_frame
from mmkg.ingest.readers.feature_kinds import feature_kinds
from mmkg.ingest.readers.registry import register_format
from mmkg.ingest.readers.table import Table, read_table
from mmkg.ingest.validate import Validator
from mmkg.schema import KG_LABELS, Label, Modality, Prop, RelType

MEDIA_COLUMNS: tuple[str, ...] = MEDIA_KINDS.names()
"""Track columns naming a media file: one per registered media kind."""

#: table name → (required columns, optional columns)
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "artists": (("id", "name"), ()),
    "genres": (("id", "name"), ()),
    "tags": (("id", "name"), ()),
    "users": (("id",), ("name",)),
    "albums": (("id", "title"), ("artist_id",)),
    "tracks": (("id", "title"), ("artist_id", "album_id", "genre_id", *MEDIA_COLUMNS)),
    "track_tags": (("track_id", "tag_id"), ()),
    "interactions": (("user_id", "track_id"), ("plays", "rating", "ts")),
    "triples": (("head_label", "head", "relation", "tail_label", "tail"), ()),
}
#: Feature-name prefixes that give a precomputed feature's modality when features.toml does not.
KIND_PREFIXES: dict[str, Modality] = {
    "text_": Modality.TEXT, "image_": Modality.IMAGE, "audio_": Modality.AUDIO,
    "sentiment_": Modality.SENTIMENT,
}
NODE_TABLES: tuple[str, ...] = ("artists", "genres", "tags", "users", "albums", "tracks")
"""The tables of nodes: a column of theirs that :data:`TABLES` does not name becomes a property
of their nodes (:func:`_own_properties`), e.g. a track's ``year`` for ``mmkg export --where``."""
PROPERTY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
"""A column that becomes a property: a letter, then up to 63 letters, digits or ``_`` (Neo4j's
importer reads ``name:type`` headers, and Cypher needs no quoting)."""
RESERVED_PROPERTIES = frozenset(p.value for p in Prop) | {"labels", "elementId"}
"""Property names of mmkg's own (vectors, ids, feature fields ...): never a catalog's column."""

#: The table that holds the nodes of each KG label a triple may name (Entity: created on demand).
LABEL_TABLES: dict[Label, str] = {
    Label.TRACK: "tracks", Label.ARTIST: "artists", Label.ALBUM: "albums",
    Label.GENRE: "genres", Label.TAG: "tags",
}

@register_format("catalog", media=True)
def read_catalog(root: Path, validator: Validator, media: MediaSettings = MEDIA) -> GraphData:
    """Validate the catalog in ``root``; return what its valid rows add to the graph.

    Problems go to ``validator``; on a fatal problem (a missing, unreadable or malformed file) the
    returned data is empty. Every referenced media file must decode (:func:`check_media`) within
    the ``media`` limits.
    """
    root = Path(root)
    tables = {name: _load(root, name, validator) for name in TABLES}
    if tables["tracks"] is None and not any(p.file.startswith("tracks.") for p in validator.problems):
        validator.file_problem("tracks.csv", "missing: expected tracks.csv or tracks.parquet")
    for name, table in tables.items():
        if table is not None:
            validator.require_columns(table, TABLES[name][0])
    features = _load_features(root, validator)
    if validator.fatal:
        return GraphData()

    for name in ("artists", "genres", "tags", "users"):
        t = tables[name]
        if t is not None:
            _check_ids(validator, t)
            if "name" in TABLES[name][0]:
                validator.not_empty(t, "name", "a name")
    albums, tracks = tables["albums"], tables["tracks"]
    if albums is not None:
        _check_ids(validator, albums)
        validator.not_empty(albums, "title", "a title")
        if albums.has("artist_id"):
            validator.references(albums, "artist_id", tables["artists"], target_name="artists")
    _check_ids(validator, tracks)
    validator.not_empty(tracks, "title", "a title")
    for column, target in (("artist_id", "artists"), ("album_id", "albums"), ("genre_id", "genres")):
        if tracks.has(column):
            validator.references(tracks, column, tables[target], target_name=target)
    _check_media(validator, tracks, root, media)
    track_tags = tables["track_tags"]
    if track_tags is not None:
        validator.references(track_tags, "track_id", tracks, target_name="tracks")
        validator.references(track_tags, "tag_id", tables["tags"], target_name="tags")
        validator.unique(track_tags, ["track_id", "tag_id"], "(track_id, tag_id)")
    interactions = tables["interactions"]
    values: dict[str, pd.Series] = {}
    if interactions is not None:
        values = _check_interactions(validator, interactions, tracks, tables["users"])
    vectors = {name: _check_features(validator, t, tracks) for name, (t, _) in features.items()}
    triples = tables["triples"]
    if triples is not None:
        _check_triples(validator, triples, tables)
    return _build(root, validator, tables, values, features, vectors)


# -- loading ------------------------------------------------------------------------------------
def _load(root: Path, name: str, validator: Validator, folder: str = "") -> Table | None:
    csv, parquet = root / folder / f"{name}.csv", root / folder / f"{name}.parquet"
    prefix = f"{folder}/" if folder else ""
    if csv.exists() and parquet.exists():
        validator.file_problem(f"{prefix}{name}.csv",
                               f"both {name}.csv and {name}.parquet present: expected exactly one")
        return None
    path = csv if csv.exists() else parquet if parquet.exists() else None
    if path is None:
        return None
    return read_table(path, f"{prefix}{path.name}", validator)


def _load_features(root: Path, validator: Validator) -> dict[str, tuple[Table, Modality]]:
    folder = root / "features"
    if not folder.is_dir():
        return {}
    kinds = feature_kinds(folder / "features.toml", "features/features.toml", validator)
    out: dict[str, tuple[Table, Modality]] = {}
    for name in sorted({p.stem for p in folder.iterdir() if p.suffix in (".csv", ".parquet")}):
        table = _load(root, name, validator, "features")
        if table is None:
            continue
        kind = kinds.get(name) or next(
            (k for prefix, k in KIND_PREFIXES.items() if name.startswith(prefix)), None)
        if kind is None:
            validator.file_problem(table.name, f"unknown modality of feature {name!r}: expected "
                                   f"[{name}] kind = \"Audio\" (etc.) in features/features.toml or "
                                   f"a name starting with {', '.join(KIND_PREFIXES)}")
            continue
        if not validator.require_columns(table, ["track_id"]):
            continue
        dims = [c for c in table.frame.columns if c != "track_id"]
        expected = [f"f{i}" for i in range(1, len(dims) + 1)]
        if not dims or dims != expected:
            validator.file_problem(table.name, "expected columns track_id, f1..fD (D >= 1), found "
                                   + ", ".join(table.frame.columns))
            continue
        out[name] = (table, kind)
    return out


# -- checks -------------------------------------------------------------------------------------
def _check_ids(validator: Validator, table: Table) -> None:
    validator.not_empty(table, "id", "an id")
    validator.id_length(table, "id")
    validator.unique(table, ["id"], "id")


def _check_media(validator: Validator, tracks: Table, root: Path, media: MediaSettings) -> None:
    """Each media cell names a decodable file within the limits (:func:`resolve_catalog_media`);
    a Windows path (``media\\audio\\t1.mp3``) is read with ``/`` first (:func:`_posix_path`)."""
    for column in MEDIA_COLUMNS:
        if not tracks.has(column):
            continue
        cells = tracks.frame[column] = tracks.frame[column].map(lambda cell: _posix_path(root, cell))
        for line, cell in cells[cells != ""].items():
            _, problem = resolve_catalog_media(column, root, cell, media)  # place, size, decode
            if problem:
                validator.add(tracks.name, line, column, f"{cell!r}: {problem}")


def _posix_path(root: Path, cell: str) -> str:
    """``cell`` with each ``\\`` read as a path separator (a catalog written on Windows), unless
    a file of that literal name exists in ``root``; else ``cell`` as written."""
    if "\\" not in cell or (root / cell).exists():
        return cell
    return cell.replace("\\", "/")


def _own_properties(name: str, table: Table, valid: pd.DataFrame,
                    data: GraphData) -> dict[str, pd.Series]:
    """The columns of node table ``name`` (read as ``table``) that :data:`TABLES` does not name,
    as properties of its ``valid`` rows: integers when every cell given is one (64 bits), else
    floats when every cell is a finite number, else text; an empty cell is no property (an
    earlier one stays). A column whose name cannot be a property (:data:`PROPERTY_NAME`,
    :data:`RESERVED_PROPERTIES`) is left out and named in ``data.columns_left_out``."""
    required, optional = TABLES[name]
    props: dict[str, pd.Series] = {}
    for column in valid.columns:
        if column in required or column in optional:
            continue
        if not PROPERTY_NAME.fullmatch(column) or column in RESERVED_PROPERTIES:
            why = ("one of mmkg's own property names" if column in RESERVED_PROPERTIES else
                   "not a property name (a letter, then letters, digits or '_')")
            data.columns_left_out[f"{table.name}: {column!r}"] = why
            continue
        props[column] = _typed(valid[column])
    return props


def _typed(cells: pd.Series) -> pd.Series:
    """Text cells as Python ints, floats or strings (one type for the column), ``None`` if empty."""
    given = cells[cells != ""]
    if given.str.fullmatch(r"[+-]?\d{1,18}").all():
        parse = int
    else:
        numbers = pd.to_numeric(given, errors="coerce")
        finite = numbers.notna().all() and np.isfinite(numbers.to_numpy(dtype=float)).all()
        parse = float if finite else str
    return pd.Series([parse(c) if c else None for c in cells], index=cells.index, dtype=object)


def _check_interactions(validator: Validator, table: Table, tracks: Table,
                        users: Table | None) -> dict[str, pd.Series]:
    validator.not_empty(table, "user_id", "a user id")
    validator.id_length(table, "user_id")
    validator.references(table, "track_id", tracks, target_name="tracks")
    if users is not None:  # users absent from users.csv are created; rejected ones cascade
        known = table.frame["user_id"].isin(users.frame["id"])
        validator.references(table, "user_id", users, target_name="users", rows=known)
    values: dict[str, pd.Series] = {}
    if table.has("plays"):
        values["plays"] = validator.integers(table, "plays", minimum=0)
    if table.has("rating"):
        values["rating"] = validator.floats(table, "rating")
    if table.has("ts"):
        values["ts"] = validator.timestamps(table, "ts")
    return validator.unique(table, ["user_id", "track_id"], "interaction (user_id, track_id)",
                            values=values, policy=True, summed="plays")


def _check_features(validator: Validator, table: Table, tracks: Table) -> np.ndarray:
    validator.references(table, "track_id", tracks, target_name="tracks")
    validator.unique(table, ["track_id"], "track_id")
    return validator.vectors(table, [c for c in table.frame.columns if c != "track_id"])


def _check_triples(validator: Validator, table: Table, tables: dict[str, Table | None]) -> None:
    allowed = {label.value for label in KG_LABELS}
    for side in ("head", "tail"):
        labels = table.frame[f"{side}_label"]
        bad = ~labels.isin(allowed)
        validator.add_rows(table, bad, f"{side}_label", [
            f"unknown label {v!r}: expected one of {', '.join(sorted(allowed))}" for v in labels[bad]
        ])
        validator.not_empty(table, side, "an id")
        validator.id_length(table, side)
        for label, name in LABEL_TABLES.items():
            validator.references(table, side, tables[name], target_name=name,
                                 rows=labels == label.value)
    validator.relation_names(table, "relation")
    validator.unique(table, list(TABLES["triples"][0]), "triple")


# -- building the graph -------------------------------------------------------------------------
def _stored_path(folder: Path, cell: str) -> str:
    """What a Track stores of media path ``cell``: its real path relative to the catalog
    ``folder`` (POSIX), or absolute when it lies outside (under the media.root setting)."""
    real = (folder / cell).resolve()
    return real.relative_to(folder).as_posix() if real.is_relative_to(folder) else str(real)


def _build(root: Path, validator: Validator, tables: dict[str, Table | None],
           interaction_values: dict[str, pd.Series], features: dict[str, tuple[Table, Modality]],
           vectors: dict[str, np.ndarray]) -> GraphData:
    data = GraphData()
    valid = {name: (validator.valid(t) if t is not None else None) for name, t in tables.items()}
    tracks = valid["tracks"]

    own = {name: _own_properties(name, tables[name], valid[name], data) for name in NODE_TABLES
           if tables[name] is not None}
    for name in (name for name in TABLES if name not in NODE_TABLES):  # relationships: fixed columns
        if tables[name] is not None:
            for column in tables[name].frame.columns:
                if column not in TABLES[name][0] + TABLES[name][1]:
                    data.columns_left_out[f"{tables[name].name}: {column!r}"] = (
                        f"{name} hold {', '.join(TABLES[name][0] + TABLES[name][1])} only")
    for label, name, prop in ((Label.ARTIST, "artists", Prop.NAME), (Label.GENRE, "genres", Prop.NAME),
                              (Label.TAG, "tags", Prop.NAME), (Label.ALBUM, "albums", Prop.TITLE)):
        if valid[name] is not None:
            data.nodes.append(NodeSet(label, property_frame(
                {"id": valid[name]["id"], prop.value: valid[name][prop.value], **own[name]})))
    track_props = {"id": tracks["id"], Prop.TITLE.value: tracks["title"], **own["tracks"]}
    folder = root.resolve()
    media = [column for column in MEDIA_COLUMNS if column in tracks]
    for column in media:
        track_props[column] = tracks[column].map(lambda c: _stored_path(folder, c) if c else None)
    if media:
        track_props[Prop.CATALOG.value] = pd.Series(folder.name, index=tracks.index)
        data.nodes.append(NodeSet(Label.CATALOG, property_frame(
            {"id": [folder.name], Prop.ROOT.value: [str(folder)]})))
    data.nodes.append(NodeSet(Label.TRACK, property_frame(track_props)))

    interactions = valid["interactions"]
    users = valid["users"]
    user_ids = pd.Index(users["id"] if users is not None else [], dtype=object)
    if interactions is not None:
        user_ids = user_ids.append(pd.Index(interactions["user_id"].unique())).drop_duplicates()
    if len(user_ids):
        names = users.set_index("id")["name"] if users is not None and "name" in users else None
        user_props = {"id": list(user_ids)}
        if names is not None:
            user_props[Prop.NAME.value] = names.reindex(user_ids).replace("", None).tolist()
        for prop, values in own.get("users", {}).items():  # none for users known from listens alone
            by_id = pd.Series(values.to_numpy(), index=users["id"], dtype=object).reindex(user_ids)
            user_props[prop] = by_id.where(by_id.notna(), None).reset_index(drop=True)
        data.nodes.append(NodeSet(Label.USER, property_frame(user_props)))

    def rel(rel_type: str, src: Label, dst: Label, frame: pd.DataFrame, s: str, d: str,
            props: dict[str, pd.Series] | None = None, *, replaces: bool = False) -> None:
        frame = frame[frame[d] != ""] if d in frame else frame.iloc[0:0]
        if len(frame):
            columns = {"src": frame[s], "dst": frame[d]}
            columns.update({k: v.loc[frame.index] for k, v in (props or {}).items()})
            data.relationships.append(RelSet(rel_type, src, dst, property_frame(columns), replaces))

    # one column of the row each: a corrected value moves the link (an empty cell leaves it)
    rel(RelType.PERFORMED_BY, Label.TRACK, Label.ARTIST, tracks, "id", "artist_id", replaces=True)
    rel(RelType.ON_ALBUM, Label.TRACK, Label.ALBUM, tracks, "id", "album_id", replaces=True)
    rel(RelType.HAS_GENRE, Label.TRACK, Label.GENRE, tracks, "id", "genre_id", replaces=True)
    if valid["albums"] is not None:
        rel(RelType.PERFORMED_BY, Label.ALBUM, Label.ARTIST, valid["albums"], "id", "artist_id",
            replaces=True)
    if valid["track_tags"] is not None:
        rel(RelType.TAGGED, Label.TRACK, Label.TAG, valid["track_tags"], "track_id", "tag_id")
    if interactions is not None:
        rel(RelType.LISTENED, Label.USER, Label.TRACK, interactions, "user_id", "track_id",
            interaction_values)

    triples = valid["triples"]
    if triples is not None and len(triples):
        entities = pd.concat([triples.loc[triples["head_label"] == Label.ENTITY.value, "head"],
                              triples.loc[triples["tail_label"] == Label.ENTITY.value, "tail"]])
        if len(entities):
            data.nodes.append(NodeSet(Label.ENTITY, property_frame({"id": entities.unique()})))
        for (h, r, t), group in triples.groupby(["head_label", "relation", "tail_label"], sort=True):
            rel(r, Label(h), Label(t), group, "head", "tail")

    for name, (table, kind) in features.items():
        keep = validator.kept(table)
        data.features.append(FeatureSet(
            name=name, kind=kind, extractor="precomputed", version="1", source=table.name,
            track_ids=table.frame["track_id"][keep].tolist(), vectors=vectors[name][keep]))
    return data
