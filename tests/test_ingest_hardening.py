"""Validation hardening (issue 10, items 6-9) beyond the malformed-catalog corpus: every user error
is one line, exits non-zero, and leaves the database unchanged."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.errors import IngestError
from mmkg.ingest.pipeline import ingest
from tests.conftest import count
from tests.malformed import graph_state, write_valid_catalog
from tests.test_ingest_kgcn import write_mkgcn


def run(driver, database, path, **kwargs):
    return ingest(driver, database, path, features=False, progress=False, **kwargs)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_cli_refuses_a_non_finite_rating_threshold(tmp_path, value):
    root = write_mkgcn(tmp_path / "mkgcn")
    result = CliRunner().invoke(cli, ["ingest", str(root), "--format", "mkgcn",
                                      "--rating-threshold", value])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "expected a finite number" in lines[0], result.output


def test_api_refuses_a_nan_rating_threshold(tmp_path):
    with pytest.raises(ValueError, match="finite"):
        run(None, "neo4j", write_mkgcn(tmp_path / "mkgcn"), fmt="mkgcn", dry_run=True,
            rating_threshold=float("nan"))


def test_mkgcn_kg_without_header_keeps_its_first_triple(empty_db, database, tmp_path):
    root = write_mkgcn(tmp_path / "mkgcn")
    text = (root / "kg.txt").read_text()
    (root / "kg.txt").write_text(text.split("\n", 1)[1])  # drop the header line
    run(empty_db, database, root, fmt="mkgcn")
    assert count(empty_db, database, "MATCH ()-[r:`music.artist.genre`]->() RETURN count(r) AS n") == 2


def test_kgcn_weight_above_int64_is_a_problem_not_a_traceback(tmp_path, driver, database):
    (tmp_path / "user_artists.dat").write_text(
        "userID\tartistID\tweight\n2\t51\t99999999999999999999\n2\t52\tmany\n"
        "2\t53\t9223372036854775807\n")
    (tmp_path / "item_index2entity_id.txt").write_text("51\t0\n")
    (tmp_path / "kg.txt").write_text("0\tmusic.artist.genre\t1\n")
    with pytest.raises(IngestError) as info:
        run(driver, database, tmp_path, fmt="kgcn", dry_run=True)
    assert info.value.problems == [
        "user_artists.dat:2:weight: expected an integer of at most 9223372036854775807 (64 bits), "
        "found '99999999999999999999'",
        "user_artists.dat:3:weight: expected an integer, found 'many'"]


def test_mkgcn_nul_byte_in_ratings_is_placed(tmp_path, driver, database):
    root = write_mkgcn(tmp_path / "mkgcn")
    (root / "userID2itemID4ratings.tsv").write_bytes(b"1\t10\t5\n2\t1\x000\t4\n")
    with pytest.raises(IngestError) as info:
        run(driver, database, root, fmt="mkgcn", dry_run=True)
    assert info.value.problems[0].startswith(
        "userID2itemID4ratings.tsv:2:item: control character U+0000 in a cell")


def test_feature_dimension_change_between_ingests_is_refused(empty_db, database, tmp_path):
    root = write_valid_catalog(tmp_path / "catalog")
    run(empty_db, database, root)
    before = graph_state(empty_db, database)
    (root / "features" / "text_demo.csv").write_text("track_id,f1,f2\nt4,0.5,0.25\n")
    with pytest.raises(IngestError) as info:
        run(empty_db, database, root)
    assert info.value.problems == [
        "features/text_demo.csv:1:*: feature 'text_demo' has dimension 2 here but 4 in the "
        "database: expected 4 numbers per vector (or delete the stored features of that name first)"]
    assert graph_state(empty_db, database) == before


def test_modal_dimension_change_between_ingests_is_refused(empty_db, database, tmp_path):
    root = write_mkgcn(tmp_path / "mkgcn")
    run(empty_db, database, root, fmt="mkgcn")
    before = graph_state(empty_db, database)
    (root / "modals" / "modal_2.tsv").write_text("10\t0.5\t0.25\t1\n")
    result = CliRunner().invoke(cli, ["ingest", str(root), "--format", "mkgcn"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: modals/modal_2.tsv:1:*: feature 'modal_2' has dimension 3 here but 2 in the "
        "database: expected 2 numbers per vector (or delete the stored features of that name "
        "first); nothing was written"]
    assert graph_state(empty_db, database) == before


def test_cli_long_id_is_one_line_and_writes_nothing(empty_db, database, tmp_path):
    root = write_valid_catalog(tmp_path / "catalog")
    text = (root / "tracks.csv").read_text().replace("t4,Song Four,", "t" * 10_000 + ",Song Four,")
    (root / "tracks.csv").write_text(text)
    result = CliRunner().invoke(cli, ["ingest", str(root), "--no-features"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: tracks.csv:5:id: an id of 10,000 characters: expected at most 1,024; nothing was written"]
    assert count(empty_db, database, "MATCH (n) RETURN count(n) AS n") == 0


@pytest.mark.parametrize("make, what", [
    (lambda path: path.mkdir(), "a directory"),
    (lambda path: os.mkfifo(path), "a FIFO (named pipe)"),
    (lambda path: path.symlink_to("/dev/null"), "a character device"),
])
def test_a_path_that_is_not_a_file_is_named_for_what_it_is(tmp_path, make, what):
    """Issue 21, finding 14: a directory, FIFO or device where a file is expected was reported
    as missing (and a FIFO or device read by the catalog format would block)."""
    (tmp_path / "user_artists.dat").write_text("userID\tartistID\tweight\n2\t51\t13\n")
    (tmp_path / "item_index2entity_id.txt").write_text("51\t0\n")
    make(tmp_path / "kg.txt")
    with pytest.raises(IngestError) as info:
        ingest(None, "neo4j", tmp_path, fmt="kgcn", dry_run=True, progress=False)
    assert info.value.problems == [f"kg.txt:1:*: {what}, not a file: expected a regular file"]
