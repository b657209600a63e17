"""`kgcn` (Last.FM, exact KGCN counts; idempotence; a run SIGKILLed midway then re-run) and
`mkgcn` (a tiny dataset generated here) ingestion against a real Neo4j."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmkg.ingest.pipeline import ingest
from mmkg.errors import IngestError
from mmkg.graph.schema import apply_schema, reset_database
from mmkg.schema import NON_KG_RELS
from tests.conftest import LASTFM, count
from tests.malformed import graph_state

LASTFM_NODES = {"User": 1_872, "Track": 3_846, "Entity": 5_520}
LASTFM_LISTENED = 21_173
LASTFM_KG_RELS = 15_518


def run(driver, database, path, fmt, **kwargs):
    return ingest(driver, database, path, fmt=fmt, progress=False, **kwargs)


@pytest.fixture(scope="module")
def lastfm_state(driver, database):
    """The state one uninterrupted Last.FM ingestion into an empty database leaves."""
    reset_database(driver, database)
    apply_schema(driver, database)
    summary = run(driver, database, LASTFM, "kgcn")
    return summary, graph_state(driver, database)


def test_lastfm_exact_counts(lastfm_state):
    summary, state = lastfm_state
    assert state["labels"] == LASTFM_NODES
    assert state["types"]["LISTENED"] == LASTFM_LISTENED
    kg = {t: n for t, n in state["types"].items() if t not in NON_KG_RELS}
    assert sum(kg.values()) == LASTFM_KG_RELS
    assert len(kg) == 60 and "music.artist.origin" in kg
    assert summary.nodes == LASTFM_NODES
    assert summary.dropped == {"interactions whose item has no KG entity": 92_834 - LASTFM_LISTENED}


def test_lastfm_items_resolve_to_tracks(driver, database, lastfm_state):
    # item 2 has entity 0; kg.txt line 1 is "2086 music.artist.origin 3846": entity 2086 is item
    # 8773's, entity 3846 is no item's -> (:Track)-[:`music.artist.origin`]->(:Entity).
    # user_artists.dat line 2 (user 2, artist 51) is dropped: artist 51 has no entity.
    assert count(driver, database, "MATCH (t:Track {id: '2'}) WHERE t.entity_id = '0' RETURN count(t) AS n") == 1
    assert count(driver, database,
                 "MATCH (:Track {id: '8773', entity_id: '2086'})-[:`music.artist.origin`]->(:Entity {id: '3846'}) "
                 "RETURN count(*) AS n") == 1
    assert count(driver, database,
                 "MATCH (:User {id: '2'})-[l:LISTENED]->(:Track {id: '52'}) RETURN l.plays AS n") == 11_690
    assert count(driver, database, "MATCH (t:Track {id: '51'}) RETURN count(t) AS n") == 0


def test_lastfm_second_run_changes_nothing(driver, database, lastfm_state):
    summary = run(driver, database, LASTFM, "kgcn")
    assert graph_state(driver, database) == lastfm_state[1]
    assert (summary.nodes_created, summary.relationships_created) == (0, 0)


def test_lastfm_run_killed_midway_is_completed_by_rerun(driver, database, lastfm_state):
    reset_database(driver, database)
    apply_schema(driver, database)
    mmkg = Path(sys.executable).parent / "mmkg"
    proc = subprocess.Popen([str(mmkg), "ingest", str(LASTFM), "--format", "kgcn", "--rows-per-tx", "500"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 300
        while count(driver, database, "MATCH ()-[r:LISTENED]->() RETURN count(r) AS n") < 1_000:
            assert proc.poll() is None, "ingest ended before it could be killed"
            assert time.monotonic() < deadline, "no LISTENED batch committed in time"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    partial = graph_state(driver, database)
    assert partial["types"].get("LISTENED", 0) < LASTFM_LISTENED  # really interrupted midway
    assert partial != lastfm_state[1]

    run(driver, database, LASTFM, "kgcn")
    assert graph_state(driver, database) == lastfm_state[1]


def test_kgcn_problems_name_file_line_and_column(tmp_path, driver, database):
    for name in ("user_artists.dat", "item_index2entity_id.txt", "kg.txt"):
        (tmp_path / name).write_text((LASTFM / name).read_text()[:2_000].rsplit("\n", 1)[0] + "\n")
    with (tmp_path / "kg.txt").open("a") as handle:
        handle.write("1\tmusic.artist origin\t2\n")
    lines = (tmp_path / "user_artists.dat").read_text().splitlines()
    lines[3] = "2\t53\t-5"
    lines[4] = "2.0\t" + lines[4].split("\t", 1)[1]      # an id is used as written: no "2.0"
    lines[5] = "\t".join(lines[5].split("\t")[:2] + ["7.0"])  # a weight of 7.0 is 7
    (tmp_path / "user_artists.dat").write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError) as info:
        run(driver, database, tmp_path, "kgcn", dry_run=True)
    n_kg = len((tmp_path / "kg.txt").read_text().splitlines())
    assert info.value.problems == [
        f"kg.txt:{n_kg}:relation: invalid relation name 'music.artist origin': expected a letter "
        "followed by letters, digits, '_', '.' or '-' (at most 128 characters)",
        "user_artists.dat:4:weight: expected an integer >= 0, found -5",
        "user_artists.dat:5:userID: expected an integer, found '2.0'",
    ]


def test_kgcn_missing_file(tmp_path, driver, database):
    with pytest.raises(IngestError) as info:
        run(driver, database, tmp_path, "kgcn", dry_run=True)
    assert [p.split(":")[0] for p in info.value.problems] == [
        "user_artists.dat", "item_index2entity_id.txt", "kg.txt"]


# -- mkgcn --------------------------------------------------------------------------------------
def write_mkgcn(root: Path) -> Path:
    """Ratings without header, item map without header, kg.txt with header, two modalities."""
    root.mkdir()
    (root / "userID2itemID4ratings.tsv").write_text(
        "1\t10\t5\n1\t11\t3\n2\t10\t4\n2\t12\t4.5\n3\t13\t1\n3\t99\t5\n")
    (root / "itemID2entityID.txt").write_text("10\t0\n11\t1\n12\t2\n13\t3\n")
    (root / "kg.txt").write_text(
        "head\trelation\ttail\n0\tmusic.artist.genre\t100\n1\tmusic.artist.genre\t100\n"
        "100\tmusic.genre.parent\t101\n2\tmusic.artist.similar\t3\n")
    (root / "modals").mkdir()
    (root / "modals" / "modal_0.tsv").write_text(
        "item_id\tf1\tf2\tf3\n10\t0.1\t0.2\t0.3\n11\t1\t2\t3\n12\t0\t0\t1\n13\t-1\t0\t0\n")
    (root / "modals" / "modal_2.tsv").write_text("10\t0.5\t0.25\n12\t1.5\t2.5\n")
    return root


def test_mkgcn_threshold_entities_and_modalities(empty_db, database, tmp_path):
    root = write_mkgcn(tmp_path / "mkgcn")
    summary = run(empty_db, database, root, "mkgcn")
    state = graph_state(empty_db, database)
    assert state["labels"] == {"Track": 4, "User": 2, "Entity": 2, "Feature": 6, "Text": 4, "Audio": 2}
    assert state["types"] == {"LISTENED": 3, "music.artist.genre": 2, "music.genre.parent": 1,
                              "music.artist.similar": 1, "HAS_FEATURE": 6}
    assert summary.dropped == {"interactions rated below the threshold": 2,
                               "interactions whose item has no KG entity": 1}
    assert count(empty_db, database,
                 "MATCH (:Track {id: '12'})-[:`music.artist.similar`]->(:Track {id: '13'}) RETURN count(*) AS n") == 1
    assert count(empty_db, database,
                 "MATCH (:User {id: '2'})-[l:LISTENED]->(:Track {id: '12'}) RETURN l.rating AS n") == 4.5
    records, _, _ = empty_db.execute_query(
        "MATCH (:Track {id: '12'})-[:HAS_FEATURE]->(f:Audio) RETURN f.name AS name, f.vector AS v",
        database_=database)
    assert (records[0]["name"], records[0]["v"]) == ("modal_2", [1.5, 2.5])

    run(empty_db, database, root, "mkgcn", rating_threshold=3.0)
    assert graph_state(empty_db, database)["types"]["LISTENED"] == 4  # (1, 11, 3) joins


def test_mkgcn_problems(tmp_path, driver, database):
    root = write_mkgcn(tmp_path / "mkgcn")
    (root / "modals" / "modal_0.tsv").write_text("item_id\tf1\tf2\n10\t0.1\tnan\n77\t1\t2\n")
    (root / "userID2itemID4ratings.tsv").write_text("1\t10\tfive\n")
    with pytest.raises(IngestError) as info:
        run(driver, database, root, "mkgcn", dry_run=True)
    assert info.value.problems == [
        "modals/modal_0.tsv:2:f2: NaN in vector: expected finite numbers",
        "modals/modal_0.tsv:3:item_id: item_id '77' not found in itemID2entityID.txt: expected an existing id",
        "userID2itemID4ratings.tsv:1:rating: expected a finite number, found 'five'",
    ]
