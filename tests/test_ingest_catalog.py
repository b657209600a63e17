"""`catalog` ingestion against a real Neo4j: the valid catalog, idempotence, every malformed
variant (exact problem, database untouched), --skip-invalid, --dry-run, and the CLI."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from mmkg.ingest.pipeline import ingest
from mmkg.cli import cli
from mmkg.errors import IngestError
from tests.malformed import (EXPECTED_NODES, EXPECTED_RELS, MALFORMED, graph_state,
                             write_valid_catalog)


@pytest.fixture()
def catalog(tmp_path):
    return write_valid_catalog(tmp_path / "catalog")


def run(driver, database, path, **kwargs):
    kwargs.setdefault("features", False)  # feature extraction is tested by ingest/features' tests
    return ingest(driver, database, path, progress=False, **kwargs)


def test_valid_catalog_writes_the_documented_graph(empty_db, database, catalog):
    summary = run(empty_db, database, catalog, batch_size=2)
    state = graph_state(empty_db, database)
    assert state["labels"] == EXPECTED_NODES
    assert state["types"] == EXPECTED_RELS
    assert summary.nodes_created == sum(v for k, v in EXPECTED_NODES.items() if k != "Text")
    assert summary.relationships_created == sum(EXPECTED_RELS.values())

    records, _, _ = empty_db.execute_query(
        "MATCH (u:User {id: 'u1'})-[l:LISTENED]->(t:Track {id: 't1'}) "
        "RETURN u.name AS name, l.plays AS plays, l.rating AS rating, l.ts AS ts, "
        "t.audio AS audio, t.title AS title, t.catalog AS catalog", database_=database)
    r = records[0]
    assert (r["name"], r["plays"], r["rating"], r["ts"], r["title"]) == (
        "Ann", 10, 4.5, 1704164645, "Song One")
    # media paths relative to the catalog, whose root is recorded once
    assert (r["audio"], r["catalog"]) == ("media/audio/t1.wav", "catalog")
    records, _, _ = empty_db.execute_query("MATCH (c:Catalog) RETURN c.id AS id, c.root AS root",
                                           database_=database)
    assert [(c["id"], c["root"]) for c in records] == [("catalog", str(catalog.resolve()))]
    records, _, _ = empty_db.execute_query(
        "MATCH (:Track {id: 't3'})-[:HAS_FEATURE]->(f:Feature:Text) RETURN f", database_=database)
    f = records[0]["f"]
    assert (f["id"], f["name"], f["dim"], f["extractor"], f["source"]) == (
        "t3/text_demo", "text_demo", 4, "precomputed", "features/text_demo.csv")
    assert f["vector"] == pytest.approx([-0.5, 0.5, 2.5, 1e-3])


def test_second_run_changes_nothing(empty_db, database, catalog):
    run(empty_db, database, catalog)
    first = graph_state(empty_db, database)
    summary = run(empty_db, database, catalog)
    assert graph_state(empty_db, database) == first
    assert (summary.nodes_created, summary.relationships_created) == (0, 0)


def test_a_corrected_catalog_moves_links_and_an_empty_cell_keeps_them(empty_db, database, catalog):
    """A track's artist, album and genre, and an album's artist, are one column of its row: an
    ingest with another value moves the link (no second artist, album or genre); an empty cell
    leaves the one an earlier ingest wrote."""
    run(empty_db, database, catalog)
    tracks, albums = catalog / "tracks.csv", catalog / "albums.csv"
    tracks.write_text(tracks.read_text().replace("t3,Song Three,a2,al2,g2,", "t3,Song Three,a3,al1,g1,")
                      .replace("t4,Song Four,a2,,g2,", "t4,Song Four,a2,,,"))
    albums.write_text(albums.read_text().replace("al2,Second,a2", "al2,Second,a3"))
    summary = run(empty_db, database, catalog)
    assert (summary.relationships_created, summary.relationships_replaced) == (4, 4)
    assert "replaced" in {str(row) for row in summary.to_table().columns[0].cells}

    def links(label: str, node: str) -> list[tuple[str, str]]:
        records, _, _ = empty_db.execute_query(
            f"MATCH (:{label} {{id: $id}})-[r:PERFORMED_BY|ON_ALBUM|HAS_GENRE]->(x) "
            "RETURN type(r) AS type, x.id AS id ORDER BY type, id", id=node, database_=database)
        return [(r["type"], r["id"]) for r in records]

    assert links("Track", "t3") == [("HAS_GENRE", "g1"), ("ON_ALBUM", "al1"), ("PERFORMED_BY", "a3")]
    assert links("Album", "al2") == [("PERFORMED_BY", "a3")]
    assert links("Track", "t4") == [("HAS_GENRE", "g2"), ("PERFORMED_BY", "a2")]
    again = run(empty_db, database, catalog)
    assert (again.relationships_created, again.relationships_replaced) == (0, 0)


def test_a_whole_number_with_a_zero_fraction_is_an_integer(empty_db, database, catalog):
    """plays ``10.0`` (a float column with gaps, as pandas writes it) is 10; ``2.5`` is named."""
    interactions = catalog / "interactions.csv"
    interactions.write_text(interactions.read_text().replace("u1,t1,10,", "u1,t1,10.0,"))
    run(empty_db, database, catalog)
    records, _, _ = empty_db.execute_query(
        "MATCH (:User {id: 'u1'})-[l:LISTENED]->(:Track {id: 't1'}) RETURN l.plays AS plays",
        database_=database)
    assert records[0]["plays"] == 10
    interactions.write_text(interactions.read_text().replace("u1,t1,10.0,", "u1,t1,2.5,"))
    with pytest.raises(IngestError) as info:
        run(empty_db, database, catalog)
    assert info.value.problems == ["interactions.csv:2:plays: expected an integer, found '2.5'"]


def test_ratings_are_floats_even_when_every_one_is_whole(empty_db, database, catalog):
    interactions = catalog / "interactions.csv"
    interactions.write_text(interactions.read_text().replace("u1,t1,10,4.5,", "u1,t1,10,4,")
                            .replace("u1,t2,3,,", "u1,t2,3,3,").replace("u2,t3,0,2.0,", "u2,t3,0,2,")
                            .replace("u3,t5,1,,", "u3,t5,1,1,"))
    run(empty_db, database, catalog)
    records, _, _ = empty_db.execute_query(
        "MATCH ()-[l:LISTENED]->() WHERE l.rating IS NOT NULL "
        "RETURN collect(DISTINCT valueType(l.rating)) AS types, collect(l.rating) AS ratings",
        database_=database)
    assert records[0]["types"] == ["FLOAT NOT NULL"]
    assert sorted(records[0]["ratings"]) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_windows_media_path_reads_with_slashes_unless_the_file_has_that_name(empty_db, database,
                                                                              catalog):
    tracks = catalog / "tracks.csv"
    (catalog / "media" / "lyrics" / "odd\\name.txt").write_text("a backslash in a file name\n")
    tracks.write_text(tracks.read_text()
                      .replace("t1,Song One,a1,al1,g1,media/lyrics/t1.txt,media/cover/t1.png,",
                               "t1,Song One,a1,al1,g1,media\\lyrics\\t1.txt,media\\cover\\t1.png,")
                      .replace("t2,Song Two,a1,al1,g1,,", "t2,Song Two,a1,al1,g1,media/lyrics/odd\\name.txt,"))
    run(empty_db, database, catalog)
    records, _, _ = empty_db.execute_query(
        "MATCH (t:Track) WHERE t.id IN ['t1', 't2'] RETURN t.id AS id, t.lyrics AS lyrics, "
        "t.cover AS cover ORDER BY id", database_=database)
    assert [r.data() for r in records] == [
        {"id": "t1", "lyrics": "media/lyrics/t1.txt", "cover": "media/cover/t1.png"},
        {"id": "t2", "lyrics": "media/lyrics/odd\\name.txt", "cover": None}]


def test_a_node_table_s_own_columns_become_typed_properties(empty_db, database, catalog):
    """`year` (integers), `length` (numbers), `isrc` (text) on tracks, `country` on users; a
    column that cannot be a property, and one of a relationship table, are named as left out."""
    tracks, users = catalog / "tracks.csv", catalog / "users.csv"
    lines = tracks.read_text().splitlines()
    extra = ["year,length,isrc,Release Date,vector", "1999,210.5,US-1,2001,x", "2005,180,,,", *[",,,,"] * 3]
    tracks.write_text("\n".join(f"{line},{more}" for line, more in zip(lines, extra)) + "\n")
    users.write_text("id,name,country\nu1,Ann,DE\nu2,Bob,\n")
    interactions = catalog / "interactions.csv"
    interactions.write_text(interactions.read_text().replace("user_id,track_id,plays,rating,ts",
                                                             "user_id,track_id,plays,rating,ts,device")
                            .replace("\n", ",\n").replace("ts,device,\n", "ts,device\n"))
    summary = run(empty_db, database, catalog)
    assert summary.columns_left_out == {
        "tracks.csv: 'Release Date'": "not a property name (a letter, then letters, digits or '_')",
        "tracks.csv: 'vector'": "one of mmkg's own property names",
        "interactions.csv: 'device'": "interactions hold user_id, track_id, plays, rating, ts only"}
    assert any(str(row) == "left out" for row in summary.to_table().columns[0].cells)

    def props(label: str) -> dict:
        records, _, _ = empty_db.execute_query(
            f"MATCH (n:{label}) RETURN n.id AS id, properties(n) AS p", database_=database)
        return {r["id"]: {k: v for k, v in r["p"].items() if k not in ("id", "title", "name", "audio",
                                                                       "lyrics", "cover", "catalog")}
                for r in records}

    got = props("Track")
    assert (got["t1"], got["t2"], got["t3"]) == (
        {"year": 1999, "length": 210.5, "isrc": "US-1"}, {"year": 2005, "length": 180.0}, {})
    assert type(got["t1"]["year"]) is int and type(got["t2"]["length"]) is float
    assert props("User") == {"u1": {"country": "DE"}, "u2": {}, "u3": {}}
    records, _, _ = empty_db.execute_query(
        "MATCH (t:Track) WHERE t.year >= 2000 RETURN collect(t.id) AS ids", database_=database)
    assert records[0]["ids"] == ["t2"]  # what `mmkg export --where "t.year >= 2000"` reads


def test_parquet_tables_read_like_csv(empty_db, database, catalog, tmp_path):
    import pandas as pd

    run(empty_db, database, catalog)
    expected = graph_state(empty_db, database)
    for name in ("tracks", "interactions"):
        pd.read_csv(catalog / f"{name}.csv", dtype=str, keep_default_na=False).to_parquet(
            catalog / f"{name}.parquet")
        (catalog / f"{name}.csv").unlink()
    run(empty_db, database, catalog)
    assert graph_state(empty_db, database) == expected


@pytest.fixture(scope="module")
def populated(driver, database, tmp_path_factory):
    """A database holding the valid catalog, so that 'unchanged' means more than 'still empty'."""
    from mmkg.graph.schema import apply_schema, reset_database

    reset_database(driver, database)
    apply_schema(driver, database)
    run(driver, database, write_valid_catalog(tmp_path_factory.mktemp("base") / "catalog"))
    return driver


@pytest.mark.parametrize("name, mutate, expected", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_catalog_fails_with_its_problem_and_writes_nothing(
        populated, database, catalog, name, mutate, expected):
    mutate(catalog)
    before = graph_state(populated, database)
    with pytest.raises(IngestError) as info:
        run(populated, database, catalog)
    problems = info.value.problems
    assert any(p.startswith(expected) for p in problems), problems
    assert len(problems) == 1, problems
    assert graph_state(populated, database) == before


def test_an_id_of_a_table_the_folder_lacks_asks_for_its_row(populated, database, catalog):
    """A folder is validated on its own: a genre the database already holds (``populated``)
    still needs its row, and the problem says so (a day-2 finding: a folder of new tracks by
    known artists)."""
    (catalog / "genres.csv").unlink()
    with pytest.raises(IngestError) as info:
        run(populated, database, catalog)
    assert info.value.problems[:2] == [
        f"tracks.csv:{line}:genre_id: genre_id 'g1' not found: expected an id from genres, which "
        "is absent (a folder holds the row of every id it names, one an earlier ingest wrote too)"
        for line in (2, 3)]


def test_skip_invalid_writes_valid_rows_and_reports_rejects(empty_db, database, catalog, tmp_path):
    (catalog / "tracks.csv").write_text(
        (catalog / "tracks.csv").read_text().replace("t5,Song Five,a3,", "t5,Song Five,a9,"))
    with (catalog / "interactions.csv").open("a") as handle:
        handle.write("u2,t2,many,,\n")
    report = tmp_path / "rejects.csv"
    summary = run(empty_db, database, catalog, skip_invalid=True, reject_report=report)

    state = graph_state(empty_db, database)
    assert state["labels"]["Track"] == 4
    assert state["types"]["LISTENED"] == 4  # u3->t5 depends on the rejected track
    assert state["types"]["PERFORMED_BY"] == 6
    rows = list(csv.DictReader(report.open()))
    got = {(r["file"], r["line"], r["column"], r["cascaded"]) for r in rows}
    assert got == {("tracks.csv", "6", "artist_id", "false"),
                   ("interactions.csv", "6", "track_id", "true"),
                   ("interactions.csv", "7", "plays", "false")}
    assert summary.rejected == 3
    assert "refers to rejected tracks.csv line 6" in {r["message"] for r in rows if r["cascaded"] == "true"}.pop()


def test_rows_of_too_many_or_too_few_fields_are_row_problems(empty_db, database, catalog, tmp_path):
    """A row that does not split into the header's columns (a stray comma, a line cut short)
    is one problem at its line, like any bad row: every other problem is still reported,
    ``--skip-invalid`` writes the rest, and the rows naming an id on a broken line are
    cascaded (the id is still read), not "not found". Neither stops the run, nor is a short
    row taken with empty cells."""
    tracks = catalog / "tracks.csv"
    tracks.write_text(tracks.read_text().replace("t5,Song Five,a3,", "t5,Song, Five,a3,"))
    with (catalog / "interactions.csv").open("a") as handle:
        handle.write("u2,t2\nu2,t4,many,,\n")
    with pytest.raises(IngestError) as info:
        run(empty_db, database, catalog)
    assert info.value.problems == [
        "interactions.csv:7:*: expected 5 fields, found 2",
        "interactions.csv:8:plays: expected an integer, found 'many'",
        "tracks.csv:6:*: expected 8 fields, found 9"]
    assert graph_state(empty_db, database)["labels"] == {}

    report = tmp_path / "rejects.csv"
    summary = run(empty_db, database, catalog, skip_invalid=True, reject_report=report)
    state = graph_state(empty_db, database)
    assert state["labels"]["Track"] == 4 and state["types"]["LISTENED"] == 4  # u3->t5 cascaded
    rows = {(r["file"], r["line"], r["cascaded"]) for r in csv.DictReader(report.open())}
    assert rows == {("tracks.csv", "6", "false"), ("interactions.csv", "6", "true"),
                    ("interactions.csv", "7", "false"), ("interactions.csv", "8", "false")}
    assert summary.rejected == 4


def test_skip_invalid_still_stops_on_file_problems(empty_db, database, catalog):
    (catalog / "artists.csv").write_text("")
    with pytest.raises(IngestError, match="artists.csv:1:\\*: the file is empty"):
        run(empty_db, database, catalog, skip_invalid=True, reject_report=catalog / "r.csv")
    assert graph_state(empty_db, database)["labels"] == {}


@pytest.mark.usefixtures("uri_scheme")
def test_cli_dry_run_writes_nothing(empty_db, database, catalog):
    result = CliRunner().invoke(cli, ["ingest", str(catalog), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would write" in result.output
    assert "LISTENED" in result.output
    assert graph_state(empty_db, database)["labels"] == {}


def test_the_summary_names_the_folder_that_dot_stands_for(catalog, monkeypatch):
    monkeypatch.chdir(catalog)
    summary = run(None, "neo4j", ".", dry_run=True)
    assert summary.to_table().title.plain == f"catalog {catalog} (would write)"
    assert run(None, "neo4j", catalog, dry_run=True).to_table().title.plain == f"catalog {catalog} (would write)"


@pytest.mark.usefixtures("uri_scheme")
def test_cli_reports_problems_with_exit_status_1(empty_db, database, catalog):
    (catalog / "interactions.csv").write_text(
        (catalog / "interactions.csv").read_text().replace("u1,t1,10,", "u1,t1,-1,"))
    result = CliRunner().invoke(cli, ["ingest", str(catalog), "--no-features"])
    assert result.exit_code == 1
    assert "interactions.csv:2:plays: expected an integer >= 0, found -1" in result.output
    assert graph_state(empty_db, database)["labels"] == {}


@pytest.mark.usefixtures("uri_scheme")
def test_cli_ingest_and_skip_invalid_print_summary(empty_db, database, catalog):
    runner = CliRunner()
    with runner.isolated_filesystem():
        (catalog / "track_tags.csv").write_text("track_id,tag_id\nt1,tg1\nt2,tg9\n")
        result = runner.invoke(cli, ["ingest", str(catalog), "--no-features", "--skip-invalid"])
        assert result.exit_code == 0, result.output
        assert "1 row(s) rejected; reasons in ingest-rejects.csv" in result.output
        assert "tg9" in open("ingest-rejects.csv").read()
    assert graph_state(empty_db, database)["types"]["TAGGED"] == 1


def test_cli_rejects_rating_threshold_outside_mkgcn(catalog):
    result = CliRunner().invoke(cli, ["ingest", str(catalog), "--rating-threshold", "3"])
    assert result.exit_code == 2
    assert "--rating-threshold" in result.output
