"""Repeated rows are data, not errors: merged, counted, written once; conflicting repeats of an
interaction follow ``--on-conflict`` (issue 9)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.errors import IngestError
from mmkg.graph.schema import apply_schema, reset_database
from mmkg.ingest.pipeline import ingest
from tests.conftest import count
from tests.malformed import EXPECTED_NODES, EXPECTED_RELS, graph_state, write_valid_catalog
from tests.test_ingest_kgcn import write_mkgcn


def run(driver, database, path, **kwargs):
    return ingest(driver, database, path, features=False, progress=False, **kwargs)


def append(path, text: str) -> None:
    with path.open("a") as handle:
        handle.write(text)


def test_repeated_triples_and_listens_are_merged_and_counted(empty_db, database, tmp_path):
    root = write_valid_catalog(tmp_path / "catalog")
    append(root / "triples.csv", "Artist,a1,music.artist.origin,Entity,e_london\n" * 3)
    append(root / "interactions.csv", "u1,t1,10,4.5,2024-01-02T03:04:05Z\nu3,t5,1,,\n")
    append(root / "interactions.csv", "u1,t1,10,4.50,1704164645\n")  # same values, other spelling
    append(root / "track_tags.csv", "t1,tg1\n")
    append(root / "artists.csv", "a2,Beta\n")
    summary = run(empty_db, database, root)
    assert summary.merged == {
        "triples.csv: repeated triple": 3,
        "interactions.csv: repeated interaction (user_id, track_id)": 3,
        "track_tags.csv: repeated (track_id, tag_id)": 1,
        "artists.csv: repeated id": 1,
    }
    state = graph_state(empty_db, database)
    assert state["labels"] == EXPECTED_NODES and state["types"] == EXPECTED_RELS
    assert summary.relationships["LISTENED"] == EXPECTED_RELS["LISTENED"]


def test_a_time_is_one_value_however_it_is_written(empty_db, database, tmp_path):
    """Epoch seconds may be negative (before 1970) as an ISO date-time before 1970 is, and a
    fraction of a second is dropped in both spellings: each pair below is one value, so the
    second row of each is a repeat, merged, not a conflict."""
    root = write_valid_catalog(tmp_path / "catalog")
    (root / "interactions.csv").write_text(
        "user_id,track_id,ts\nu1,t1,-86400\nu1,t1,1969-12-31T00:00:00Z\n"
        "u2,t3,1650000000.7\nu2,t3,2022-04-15T05:20:00.7+00:00\n")
    summary = run(empty_db, database, root)
    assert summary.merged == {"interactions.csv: repeated interaction (user_id, track_id)": 2}
    assert all_listens(empty_db, database) == {"u1/t1": {"ts": -86400}, "u2/t3": {"ts": 1650000000}}


def test_mkgcn_repeated_triples_and_ratings_ingest_without_a_flag(empty_db, database, tmp_path):
    root = write_mkgcn(tmp_path / "mkgcn")
    append(root / "kg.txt", "0\tmusic.artist.genre\t100\n100\tmusic.genre.parent\t101\n")
    append(root / "userID2itemID4ratings.tsv", "1\t10\t5\n")
    summary = run(empty_db, database, root, fmt="mkgcn")
    assert summary.merged == {"kg.txt: repeated triple": 2,
                              "userID2itemID4ratings.tsv: repeated (user, item)": 1}
    assert graph_state(empty_db, database)["types"] == {
        "LISTENED": 3, "music.artist.genre": 2, "music.genre.parent": 1,
        "music.artist.similar": 1, "HAS_FEATURE": 6}


@pytest.fixture()
def conflicting(tmp_path):
    """u1 listened to t1 twice with different plays, rating and ts (lines 2 and 7)."""
    root = write_valid_catalog(tmp_path / "catalog")
    append(root / "interactions.csv", "u1,t1,25,3.0,2023-01-01T00:00:00Z\n")
    return root


def listened(driver, database) -> tuple:
    records, _, _ = driver.execute_query(
        "MATCH (:User {id: 'u1'})-[l:LISTENED]->(:Track {id: 't1'}) "
        "RETURN l.plays AS plays, l.rating AS rating, l.ts AS ts", database_=database)
    assert len(records) == 1
    return tuple(records[0].values())


def test_conflicting_interaction_is_an_error_by_default(empty_db, database, conflicting):
    with pytest.raises(IngestError) as info:
        run(empty_db, database, conflicting)
    assert info.value.problems == [
        "interactions.csv:7:user_id: duplicate interaction (user_id, track_id) ('u1', 't1') with "
        "different values: expected each once (first at line 2), or choose --on-conflict "
        "first|last|max|sum"]
    assert count(empty_db, database, "MATCH (n) RETURN count(n) AS n") == 0


@pytest.mark.parametrize("policy, expected", [
    ("first", (10, 4.5, 1704164645)),
    ("last", (25, 3.0, 1672531200)),
    ("max", (25, 4.5, 1704164645)),
])
def test_on_conflict_policies(empty_db, database, conflicting, policy, expected):
    summary = run(empty_db, database, conflicting, on_conflict=policy)
    assert listened(empty_db, database) == expected
    assert summary.merged == {
        f"interactions.csv: conflicting interaction (user_id, track_id) (--on-conflict {policy})": 1}
    assert count(empty_db, database, "MATCH ()-[l:LISTENED]->() RETURN count(l) AS n") == 5


def all_listens(driver, database) -> dict:
    records, _, _ = driver.execute_query(
        "MATCH (u:User)-[l:LISTENED]->(t:Track) RETURN u.id + '/' + t.id AS pair, properties(l) AS p",
        database_=database)
    return {r["pair"]: r["p"] for r in records}


def test_sum_adds_up_a_listening_log(empty_db, database, conflicting):
    """A log repeats a pair once per play: every row adds its plays, an exact repeat too (a row
    without plays is one play), the largest ts and rating stay; pairs seen once are as given,
    a row without plays holding one."""
    append(conflicting / "interactions.csv", "u1,t1,25,3.0,2023-01-01T00:00:00Z\nu1,t1,,,\n")
    summary = run(empty_db, database, conflicting, on_conflict="sum")
    assert summary.merged == {
        "interactions.csv: interaction (user_id, track_id) added up (--on-conflict sum)": 3}
    assert all_listens(empty_db, database) == {
        "u1/t1": {"plays": 10 + 25 + 25 + 1, "rating": 4.5, "ts": 1704164645},
        "u1/t2": {"plays": 3, "ts": 1700000000}, "u2/t3": {"plays": 0, "rating": 2.0},
        "u3/t1": {"plays": 7, "rating": 5.0, "ts": 1706745600}, "u3/t5": {"plays": 1}}
    run(empty_db, database, conflicting, on_conflict="sum")  # a re-run stores the same sums
    assert listened(empty_db, database) == (61, 4.5, 1704164645)


def test_sum_says_which_stored_listens_a_partial_log_lowers(empty_db, database, conflicting, caplog):
    """Today's plays only, ingested with sum after the whole log: u1→t1 goes from 35 to 2, and
    the run says so before writing (the re-run of the whole log lowers nothing)."""
    summary = run(empty_db, database, conflicting, on_conflict="sum")
    assert summary.plays_lowered == 0 and listened(empty_db, database)[0] == 35
    (conflicting / "interactions.csv").write_text(
        "user_id,track_id,plays\nu1,t1,1\nu1,t1,1\nu3,t1,9\n")
    with caplog.at_level("WARNING", logger="mmkg.ingest.pipeline"):
        summary = run(empty_db, database, conflicting, on_conflict="sum")
    assert summary.plays_lowered == 1 and listened(empty_db, database)[0] == 2
    assert "1 stored listen(s) get fewer plays than they hold ('u1' → 't1' 35 → 2)" in caplog.text
    assert any(str(cell) == "lowered" for cell in summary.to_table().columns[0].cells)


def test_sum_counts_the_rows_of_a_log_without_plays(empty_db, database, tmp_path):
    root = write_valid_catalog(tmp_path / "catalog")
    (root / "interactions.csv").write_text(
        "user_id,track_id,ts\nu1,t1,1700000000\nu1,t1,1700000100\nu1,t1,1700000100\nu2,t3,1\n")
    run(empty_db, database, root, on_conflict="sum")
    assert all_listens(empty_db, database) == {"u1/t1": {"plays": 3, "ts": 1700000100},
                                               "u2/t3": {"plays": 1, "ts": 1}}


def test_sum_past_64_bits_is_a_problem(empty_db, database, tmp_path):
    root = write_valid_catalog(tmp_path / "catalog")
    append(root / "interactions.csv", f"u1,t1,{2**63 - 1},,\n")
    with pytest.raises(IngestError) as info:
        run(empty_db, database, root, on_conflict="sum")
    assert info.value.problems == [
        f"interactions.csv:{line}:plays: the plays of this interaction (user_id, track_id) add up "
        f"past {2**63 - 1} (64 bits): expected a smaller sum" for line in (2, 7)]


def listen_properties(driver, database) -> dict:
    records, _, _ = driver.execute_query(
        "MATCH (:User {id: 'u1'})-[l:LISTENED]->(:Track {id: 't1'}) RETURN properties(l) AS p",
        database_=database)
    return records[0]["p"]


def test_a_policy_keeps_exactly_that_row_whatever_was_ingested_before(empty_db, database,
                                                                       tmp_path):
    """Issue 21, finding 13: ``last`` keeps the last row, without ``ts``; a ``ts`` stored by
    an earlier ingest under ``first`` must not survive, and a clean database gets the same."""
    root = write_valid_catalog(tmp_path / "catalog")
    append(root / "interactions.csv", "u1,t1,25,3.0,\n")
    run(empty_db, database, root, on_conflict="first")
    assert listen_properties(empty_db, database) == {"plays": 10, "rating": 4.5, "ts": 1704164645}
    run(empty_db, database, root, on_conflict="last")
    assert listen_properties(empty_db, database) == {"plays": 25, "rating": 3.0}
    run(empty_db, database, root, on_conflict="max")
    assert listen_properties(empty_db, database) == {"plays": 25, "rating": 4.5, "ts": 1704164645}
    run(empty_db, database, root, on_conflict="last")
    assert listen_properties(empty_db, database) == {"plays": 25, "rating": 3.0}
    run(empty_db, database, root, on_conflict="sum")
    assert listen_properties(empty_db, database) == {"plays": 35, "rating": 4.5, "ts": 1704164645}
    run(empty_db, database, root, on_conflict="last")
    assert listen_properties(empty_db, database) == {"plays": 25, "rating": 3.0}
    state = graph_state(empty_db, database)
    reset_database(empty_db, database)
    apply_schema(empty_db, database)
    run(empty_db, database, root, on_conflict="last")
    assert graph_state(empty_db, database) == state


def test_conflicting_node_rows_stay_an_error_whatever_the_policy(empty_db, database, tmp_path):
    root = write_valid_catalog(tmp_path / "catalog")
    append(root / "artists.csv", "a1,Someone Else\n")
    with pytest.raises(IngestError, match="artists.csv:5:id: duplicate id 'a1' with different"):
        run(empty_db, database, root, on_conflict="last")


def test_kgcn_conflicting_weights_follow_the_policy(empty_db, database, tmp_path):
    (tmp_path / "user_artists.dat").write_text("userID\tartistID\tweight\n2\t51\t13\n2\t51\t40\n")
    (tmp_path / "item_index2entity_id.txt").write_text("51\t0\n")
    (tmp_path / "kg.txt").write_text("0\tmusic.artist.genre\t1\n")
    with pytest.raises(IngestError, match=r"user_artists.dat:3:userID: duplicate \(userID, artistID\)"):
        run(empty_db, database, tmp_path, fmt="kgcn")
    run(empty_db, database, tmp_path, fmt="kgcn", on_conflict="max")
    assert count(empty_db, database, "MATCH ()-[l:LISTENED]->() RETURN l.plays AS n") == 40
    run(empty_db, database, tmp_path, fmt="kgcn", on_conflict="sum")
    assert count(empty_db, database, "MATCH ()-[l:LISTENED]->() RETURN l.plays AS n") == 53


def test_cli_prints_merged_rows_and_takes_on_conflict(empty_db, database, conflicting):
    append(conflicting / "triples.csv", "Artist,a1,music.artist.origin,Entity,e_london\n")
    result = CliRunner().invoke(cli, ["ingest", str(conflicting), "--no-features",
                                      "--on-conflict", "last"])
    assert result.exit_code == 0, result.output
    assert "triples.csv: repeated triple" in result.output
    assert "conflicting interaction" in result.output
    assert listened(empty_db, database) == (25, 3.0, 1672531200)
