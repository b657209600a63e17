"""``mmkg delete-tracks`` and ``mmkg delete-users`` (``ingest/deletion.py``,
``cypher/delete_tracks.cypher``, ``cypher/delete_users.cypher``): a track taken down, or a user
forgotten, leaves every answer at once, and a later publish does not bring it back."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.graph import render, run_batches
from mmkg.errors import NotFoundError
from mmkg.ingest.deletion import forget_users, take_down
from mmkg.publish.writer import publish
from mmkg.recommend import for_liked_tracks, for_user, similar_tracks
from mmkg.schema import Modality, feature_id
from tests.demo_graph import build_demo_graph, write_run

AUDIO = {"name": "audio_test", "dim": 2, "extractor": "test", "version": "1", "source": "test"}


@pytest.fixture
def published(empty_db, database, tmp_path):
    """The demo graph, a 2-d audio feature on every track, and run-a published."""
    build_demo_graph(empty_db, database)
    rows = [{"track": f"t{i}", "id": feature_id(f"t{i}", AUDIO["name"]), "vector": [1.0, i / 10],
             "summary": {}} for i in range(12)]
    run_batches(empty_db, database, render("merge_features", kind=Modality.AUDIO), rows, batch_size=12,
                params={"props": AUDIO})
    run = write_run(tmp_path / "run-a")
    publish(empty_db, database, run, progress=False)
    return run


def count(driver, database, query: str) -> int:
    return driver.execute_query(query, database_=database)[0][0][0]


def answers(driver, database) -> set[str]:
    """Every track that u0's list, t0's neighbours and a cold start from t0 return."""
    return ({r["trackId"] for r in for_user(driver, database, "u0", k=12).rows}
            | {r["trackId"] for r in similar_tracks(driver, database, "t0", k=11)}
            | {r["trackId"] for r in for_liked_tracks(driver, database, ["t0"], k=11).rows})


def test_a_track_taken_down_leaves_every_answer_and_stays_out_after_a_publish(published, empty_db, database):
    driver = empty_db
    best = for_user(driver, database, "u0", k=1).rows[0]["trackId"]  # a track u0 has not heard
    assert best in answers(driver, database) and "t1" in answers(driver, database)
    both = f"WHERE t.id IN ['t1', '{best}']"
    listens = count(driver, database, f"MATCH (t:Track)<-[r:LISTENED]-() {both} RETURN count(r)")
    recommended = count(driver, database, f"MATCH (t:Track)<-[r:RECOMMENDED]-() {both} RETURN count(r)")
    assert listens >= 1 and recommended > 0  # u1 listened to t1; best is in some top lists

    done = take_down(driver, database, [best, "t1", best, "t-none"], ids_per_tx=1)
    assert (done.deleted, done.removed["features"], done.unknown) == (2, 2, ["t-none"])
    assert (done.removed["listens"], done.removed["recommendations"]) == (listens, recommended)
    assert not {best, "t1"} & answers(driver, database)
    assert count(driver, database, f"MATCH (t:Track) {both} RETURN count(t)") == 0
    assert count(driver, database, "MATCH (f:Feature) RETURN count(f)") == 10  # no orphan left

    summary = publish(driver, database, published, progress=False)  # the run still holds both
    assert summary.missing_tracks == 2
    assert not {best, "t1"} & answers(driver, database)
    again = take_down(driver, database, [best])
    assert (again.deleted, again.unknown) == (0, [best])


@pytest.mark.usefixtures("uri_scheme")
def test_cli_asks_first_and_says_what_went(published, empty_db, database):
    out = CliRunner().invoke(cli, ["delete-tracks", "t9", "t10"], input="n\n")
    assert out.exit_code == 1 and "Delete 2 track(s)" in out.output
    assert count(empty_db, database, "MATCH (t:Track) WHERE t.id IN ['t9', 't10'] RETURN count(t)") == 2
    out = CliRunner().invoke(cli, ["delete-tracks", "t9", "t10", "t-none", "--yes"])
    assert out.exit_code == 0, out.output
    assert "deleted 2 track(s), with 2 feature node(s), 0 listen(s)" in out.stdout
    assert "1 id(s) named no track (deleted before, or mistyped): t-none" in out.stderr
    assert count(empty_db, database, "MATCH (t:Track) WHERE t.id IN ['t9', 't10'] RETURN count(t)") == 0
    out = CliRunner().invoke(cli, ["delete-tracks", "--yes"])
    assert out.exit_code == 2 and "give the ids of the tracks" in out.output


def test_a_forgotten_user_is_unknown_and_stays_out_after_a_publish(published, empty_db, database):
    driver = empty_db
    assert for_user(driver, database, "u0", k=3).rows
    listens = count(driver, database, "MATCH (:User {id: 'u0'})-[r:LISTENED]->() RETURN count(r)")
    recommended = count(driver, database, "MATCH (:User {id: 'u0'})-[r:RECOMMENDED]->() RETURN count(r)")
    others = count(driver, database, "MATCH (u:User)-[r]->() WHERE u.id <> 'u0' RETURN count(r)")
    assert listens > 0 and recommended > 0

    done = forget_users(driver, database, ["u0", "u-none", "u0"], ids_per_tx=1)
    assert (done.deleted, done.unknown) == (1, ["u-none"])
    assert (done.removed["listens"], done.removed["recommendations"]) == (listens, recommended)
    with pytest.raises(NotFoundError, match="unknown user 'u0'"):
        for_user(driver, database, "u0")
    assert count(driver, database, "MATCH (u:User {id: 'u0'}) RETURN count(u)") == 0
    assert count(driver, database, "MATCH (u:User)-[r]->() RETURN count(r)") == others

    summary = publish(driver, database, published, progress=False)  # the run still holds u0
    assert summary.missing_users == 1
    assert count(driver, database, "MATCH (u:User {id: 'u0'}) RETURN count(u)") == 0
    again = forget_users(driver, database, ["u0"])
    assert (again.deleted, again.unknown) == (0, ["u0"])


@pytest.mark.usefixtures("uri_scheme")
def test_cli_delete_users_asks_first_and_names_what_is_left_to_do(published, empty_db, database,
                                                                  tmp_path):
    out = CliRunner().invoke(cli, ["delete-users", "u1"], input="n\n")
    assert out.exit_code == 1 and "Delete 1 user(s)" in out.output
    assert count(empty_db, database, "MATCH (u:User {id: 'u1'}) RETURN count(u)") == 1
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"\xef\xbb\xbfu1\r\n\r\nu-none\r\n")  # a BOM and CRLF, as Windows tools write
    out = CliRunner().invoke(cli, ["delete-users", "--file", str(ids), "--yes"])
    assert out.exit_code == 0, out.output
    assert "deleted 1 user(s), with " in out.stdout and "train again" in out.stdout
    assert "1 id(s) named no user (deleted before, or mistyped): u-none" in out.stderr
    assert count(empty_db, database, "MATCH (u:User {id: 'u1'}) RETURN count(u)") == 0
