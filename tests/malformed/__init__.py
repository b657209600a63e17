"""A small valid catalog written by the tests themselves, the malformed variants derived from it,
and a snapshot of a graph's state (counts + property checksum) to compare runs.

Each entry of :data:`MALFORMED` is ``(name, mutate, expected)``: ``mutate(root)`` breaks the valid
catalog in ``root`` in one way, and ``expected`` is the start of the one ``file:line:column:
message`` problem ingest must report (line numbers count the CSV header as line 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

CATALOG: dict[str, str] = {
    "artists.csv": "id,name\na1,Alpha\na2,Beta\na3,Gamma\n",
    "albums.csv": "id,title,artist_id\nal1,First,a1\nal2,Second,a2\n",
    "genres.csv": "id,name\ng1,rock\ng2,jazz\n",
    "tags.csv": "id,name\ntg1,chill\ntg2,loud\n",
    "tracks.csv": (
        "id,title,artist_id,album_id,genre_id,lyrics,cover,audio\n"
        "t1,Song One,a1,al1,g1,media/lyrics/t1.txt,media/cover/t1.png,media/audio/t1.wav\n"
        "t2,Song Two,a1,al1,g1,,,\n"
        "t3,Song Three,a2,al2,g2,,,\n"
        "t4,Song Four,a2,,g2,,,\n"
        "t5,Song Five,a3,,,,,\n"
    ),
    "track_tags.csv": "track_id,tag_id\nt1,tg1\nt2,tg2\nt3,tg1\n",
    "users.csv": "id,name\nu1,Ann\nu2,Bob\n",
    "interactions.csv": (
        "user_id,track_id,plays,rating,ts\n"
        "u1,t1,10,4.5,2024-01-02T03:04:05Z\n"
        "u1,t2,3,,1700000000\n"
        "u2,t3,0,2.0,\n"
        "u3,t1,7,5,2024-02-01\n"
        "u3,t5,1,,\n"
    ),
    "triples.csv": (
        "head_label,head,relation,tail_label,tail\n"
        "Artist,a1,music.artist.origin,Entity,e_london\n"
        "Track,t1,music.recording.producer,Entity,e_prod\n"
        "Artist,a2,music.artist.origin,Entity,e_london\n"
        "Album,al1,music.album.genre,Genre,g1\n"
    ),
    "features/text_demo.csv": (
        "track_id,f1,f2,f3,f4\nt1,0.1,0.2,0.3,0.4\nt2,1,0,0,0\nt3,-0.5,0.5,2.5,1e-3\n"
    ),
}

#: What the valid catalog adds to an empty graph.
EXPECTED_NODES = {"Track": 5, "Artist": 3, "Album": 2, "Genre": 2, "Tag": 2, "User": 3,
                  "Entity": 2, "Feature": 3, "Text": 3, "Catalog": 1}
EXPECTED_RELS = {"PERFORMED_BY": 7, "ON_ALBUM": 3, "HAS_GENRE": 4, "TAGGED": 3, "LISTENED": 5,
                 "music.artist.origin": 2, "music.recording.producer": 1, "music.album.genre": 1,
                 "HAS_FEATURE": 3}


def write_valid_catalog(root: Path) -> Path:
    """Write the valid catalog (tables and real, decodable media files) into ``root``."""
    for name, text in CATALOG.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    media = root / "media"
    (media / "lyrics").mkdir(parents=True)
    (media / "lyrics" / "t1.txt").write_text("la la la, a happy little song\n")
    (media / "cover").mkdir()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(media / "cover" / "t1.png")
    (media / "audio").mkdir()
    t = np.arange(2205) / 22050
    soundfile.write(media / "audio" / "t1.wav", 0.2 * np.sin(2 * np.pi * 440 * t), 22050)
    return root


def _replace(name: str, old: str | bytes, new: str | bytes) -> Callable[[Path], None]:
    """Replace the first ``old`` of file ``name`` by ``new`` (as text, or as bytes when given
    bytes: an encoding the text API cannot write)."""
    def mutate(root: Path) -> None:
        path = root / name
        data = path.read_bytes() if isinstance(old, bytes) else path.read_text()
        assert old in data, (name, old)
        replaced = data.replace(old, new, 1)
        if isinstance(replaced, bytes):
            path.write_bytes(replaced)
        else:
            path.write_text(replaced)
    return mutate


def _make_directory(name: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        (root / name).unlink()
        (root / name).mkdir()
    return mutate


def _append(name: str, line: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        with (root / name).open("a") as handle:
            handle.write(line + "\n")
    return mutate


def _write(name: str, text: str | bytes) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return mutate


def _parquet_twin(name: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        import pandas as pd

        pd.read_csv(root / f"{name}.csv", dtype=str).to_parquet(root / f"{name}.parquet")
    return mutate


def _delete(name: str) -> Callable[[Path], None]:
    return lambda root: (root / name).unlink()


MALFORMED: list[tuple[str, Callable[[Path], None], str]] = [
    ("missing_required_column", _replace("tracks.csv", "id,title,", "id,name,"),
     "tracks.csv:1:title: missing required column 'title'"),
    ("missing_tracks_table", _delete("tracks.csv"),
     "tracks.csv:1:*: missing: expected tracks.csv or tracks.parquet"),
    ("semicolon_separated", _write("users.csv", "id;name\nu1;Ann\nu2;Bob\n"),
     "users.csv:1:id: missing required column 'id' (found: id;name); one column: a file separated "
     "by semicolons? expected commas"),
    ("empty_file", _write("artists.csv", ""),
     "artists.csv:1:*: the file is empty"),
    ("csv_and_parquet", _parquet_twin("genres"),
     "genres.csv:1:*: both genres.csv and genres.parquet present: expected exactly one"),
    ("too_many_fields", _replace("tracks.csv", "t3,Song Three,a2,al2,g2,,,", "t3,Song, Three,a2,al2,g2,,,"),
     "tracks.csv:4:*: expected 8 fields, found 9"),
    ("bad_int", _replace("interactions.csv", "u1,t1,10,", "u1,t1,ten,"),
     "interactions.csv:2:plays: expected an integer, found 'ten'"),
    ("negative_plays", _replace("interactions.csv", "u1,t2,3,", "u1,t2,-3,"),
     "interactions.csv:3:plays: expected an integer >= 0, found -3"),
    ("bad_rating", _replace("interactions.csv", "u1,t1,10,4.5,", "u1,t1,10,good,"),
     "interactions.csv:2:rating: expected a finite number, found 'good'"),
    ("infinite_rating", _replace("interactions.csv", "u2,t3,0,2.0,", "u2,t3,0,inf,"),
     "interactions.csv:4:rating: expected a finite number, found 'inf'"),
    ("bad_ts", _replace("interactions.csv", "u1,t2,3,,1700000000", "u1,t2,3,,yesterday"),
     "interactions.csv:3:ts: expected an ISO-8601 date-time or epoch seconds, found 'yesterday'"),
    ("duplicate_id", _append("artists.csv", "a1,Alpha again"),
     "artists.csv:5:id: duplicate id 'a1' with different values: expected each once (first at line 2)"),
    ("duplicate_interaction", _append("interactions.csv", "u1,t1,2,,"),
     "interactions.csv:7:user_id: duplicate interaction (user_id, track_id) ('u1', 't1') with "
     "different values: expected each once (first at line 2), or choose --on-conflict first|last|max|sum"),
    ("empty_title", _replace("tracks.csv", "t2,Song Two,", "t2,,"),
     "tracks.csv:3:title: expected a title, found an empty cell"),
    ("dangling_artist", _replace("tracks.csv", "t5,Song Five,a3,", "t5,Song Five,a9,"),
     "tracks.csv:6:artist_id: artist_id 'a9' not found in artists.csv: expected an existing id"),
    ("dangling_album_artist", _replace("albums.csv", "al2,Second,a2", "al2,Second,a8"),
     "albums.csv:3:artist_id: artist_id 'a8' not found in artists.csv"),
    ("dangling_track_in_interactions", _append("interactions.csv", "u2,t9,1,,"),
     "interactions.csv:7:track_id: track_id 't9' not found in tracks.csv"),
    ("dangling_tag", _append("track_tags.csv", "t4,tg7"),
     "track_tags.csv:5:tag_id: tag_id 'tg7' not found in tags.csv"),
    ("nan_in_vector", _replace("features/text_demo.csv", "t2,1,0,0,0", "t2,1,0,nan,0"),
     "features/text_demo.csv:3:f3: NaN in vector: expected finite numbers"),
    ("inf_in_vector", _replace("features/text_demo.csv", "t2,1,0,0,0", "t2,1,-inf,0,0"),
     "features/text_demo.csv:3:f2: infinite value in vector: expected finite numbers"),
    ("not_a_number_in_vector", _replace("features/text_demo.csv", "t2,1,0,0,0", "t2,1,0,x,0"),
     "features/text_demo.csv:3:f3: expected a number, found 'x'"),
    ("dim_mismatch", _replace("features/text_demo.csv", "t3,-0.5,0.5,2.5,1e-3", "t3,-0.5,0.5,2.5"),
     "features/text_demo.csv:4:*: expected 5 fields, found 4"),
    ("dim_mismatch_empty_cell", _replace("features/text_demo.csv", "t3,-0.5,0.5,2.5,1e-3", "t3,-0.5,0.5,2.5,"),
     "features/text_demo.csv:4:f4: vector dimension mismatch: expected 4 numbers, found 3"),
    ("empty_vector", _append("features/text_demo.csv", "t4,,,,"),
     "features/text_demo.csv:5:f1: empty vector: expected 4 numbers"),
    ("feature_of_unknown_track", _append("features/text_demo.csv", "t8,1,2,3,4"),
     "features/text_demo.csv:5:track_id: track_id 't8' not found in tracks.csv"),
    ("unknown_feature_kind", _write("features/misc.csv", "track_id,f1\nt1,0.5\n"),
     "features/misc.csv:1:*: unknown modality of feature 'misc'"),
    ("missing_media_file", _replace("tracks.csv", "media/audio/t1.wav", "media/audio/missing.wav"),
     "tracks.csv:2:audio: 'media/audio/missing.wav': expected a readable audio file"),
    ("media_url", _replace("tracks.csv", "media/cover/t1.png", "https://cdn.example.com/t1.png"),
     "tracks.csv:2:cover: 'https://cdn.example.com/t1.png': expected a readable image file "
     "(PNG/JPEG/WebP/...): a URL, not a file: mmkg reads media from disk"),
    ("corrupt_cover", _write("media/cover/t1.png", b"not a png at all"),
     "tracks.csv:2:cover: 'media/cover/t1.png': expected a readable image file"),
    ("bad_relation_name", _replace("triples.csv", "music.artist.origin", "music artist origin"),
     "triples.csv:2:relation: invalid relation name 'music artist origin'"),
    ("reserved_relation_name", _replace("triples.csv", "music.album.genre", "LISTENED"),
     "triples.csv:5:relation: relation name 'LISTENED' is reserved"),
    ("unknown_label_in_triples", _replace("triples.csv", "Track,t1,", "Planet,t1,"),
     "triples.csv:3:head_label: unknown label 'Planet': expected one of"),
    # issue 10 items 6-9
    ("track_id_too_long", _replace("tracks.csv", "t4,Song Four,", "t" * 10_000 + ",Song Four,"),
     "tracks.csv:5:id: an id of 10,000 characters: expected at most 1,024"),
    ("user_id_too_long", _replace("interactions.csv", "u3,t5,", "u" * 40_000 + ",t5,"),
     "interactions.csv:6:user_id: an id of 40,000 characters: expected at most 1,024"),
    # issue 21 finding 12: a 6,000,000-character title stopped the importer with no reason
    ("title_too_long", _replace("tracks.csv", "Song Four", "x" * 6_000_000),
     "tracks.csv:5:title: a cell of 6,000,000 characters: expected at most 65,536 (longer than "
     "65,536 characters)"),
    # issue 21 finding 14: headers, the place of a non-UTF-8 byte, what a path that is not a file is
    ("duplicate_header", _replace("artists.csv", "id,name", "id,id"),
     "artists.csv:1:id: column 2 repeats the name 'id' of column 1: expected each column once"),
    ("empty_header", _replace("genres.csv", "id,name", "id,"),
     "genres.csv:1:2: column 2 has no name: expected a name in every header cell"),
    ("windows_1252_byte_on_line_5", _replace("tracks.csv", b"Song Four", b"Caf\xe9 Four"),
     "tracks.csv:5:title: byte 0xe9 is not UTF-8 (a Windows-1252 or Latin-1 file?): expected "
     "UTF-8 text"),
    ("table_is_a_directory", _make_directory("albums.csv"),
     "albums.csv:1:*: a directory, not a file: expected a regular file"),
    ("plays_above_int64", _replace("interactions.csv", "u1,t1,10,", "u1,t1,99999999999999999999,"),
     "interactions.csv:2:plays: expected an integer of at most 9223372036854775807 (64 bits), "
     "found '99999999999999999999'"),
    ("ts_above_int64", _replace("interactions.csv", "u1,t2,3,,1700000000", "u1,t2,3,,99999999999999999999"),
     "interactions.csv:3:ts: expected epoch seconds up to 253402300799 (9999-12-31), "
     "found '99999999999999999999'"),
    ("ts_before_1677", _replace("interactions.csv", "u1,t2,3,,1700000000", "u1,t2,3,,-9999999999"),
     "interactions.csv:3:ts: expected epoch seconds from -9223372036 (1677-09-21), found '-9999999999'"),
    ("ts_in_milliseconds", _replace("interactions.csv", "u1,t2,3,,1700000000", "u1,t2,3,,1700000000000"),
     "interactions.csv:3:ts: expected epoch seconds up to 253402300799 (9999-12-31), "
     "found '1700000000000' (epoch milliseconds? divide by 1,000)"),
    ("nul_in_name", _replace("artists.csv", "a2,Beta", "a2,Be\x00ta"),
     "artists.csv:3:name: control character U+0000 in a cell"),
    ("control_char_in_title", _replace("tracks.csv", "Song Two", "Song\x07Two"),
     "tracks.csv:3:title: control character U+0007 in a cell"),
    ("c1_control_in_title", _replace("tracks.csv", "Song Two", "Song\u009b31mTwo"),   # CSI: a C1 "ESC ["
     "tracks.csv:3:title: control character U+009B in a cell"),
    ("multiline_cell_keeps_line_numbers",
     lambda root: (_replace("artists.csv", "a1,Alpha", '"a1","Al\npha\nAlpha"')(root),
                   _replace("artists.csv", "a3,Gamma", "a3,")(root)),
     "artists.csv:6:name: expected a name, found an empty cell"),
    ("unclosed_quote", _write("artists.csv", 'id,name\na1,Alpha\na2,Beta\na3,"Gamma\n'),
     "artists.csv:4:name: a quoted cell is never closed"),
    ("too_many_fields_after_multiline_cell",
     _write("artists.csv", 'id,name\na1,"Al\npha"\na2,Beta\na3,Gamma,extra\n'),
     "artists.csv:5:*: expected 2 fields, found 3"),
    ("triple_to_missing_node", _replace("triples.csv", "Album,al1,", "Album,al9,"),
     "triples.csv:5:head: head 'al9' not found in albums.csv"),
]


def graph_state(driver, database: str) -> dict:
    """Counts per label and relationship type, and a checksum of every node's and relationship's
    labels/type, endpoints and properties (order-independent)."""
    def rows(query: str) -> list:
        records, _, _ = driver.execute_query(query, database_=database)
        return [tuple(r.values()) for r in records]

    labels = dict(rows("MATCH (n) UNWIND labels(n) AS l RETURN l, count(*)"))
    types = dict(rows("MATCH ()-[r]->() RETURN type(r), count(*)"))
    digest = hashlib.sha256()
    nodes = rows("MATCH (n) RETURN labels(n), properties(n)")
    rels = rows("MATCH (a)-[r]->(b) RETURN a.id, type(r), b.id, properties(r)")
    items = [repr((sorted(l), sorted(p.items()))) for l, p in nodes]
    items += [repr((a, t, b, sorted(p.items()))) for a, t, b, p in rels]
    for item in sorted(items):
        digest.update(item.encode())
    return {"labels": labels, "types": types, "checksum": digest.hexdigest()}
