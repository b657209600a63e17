"""The graph schema: one source of truth, applied idempotently to a real Neo4j."""

from __future__ import annotations

import re

import pytest

from mmkg.errors import DatabaseError, SchemaError
from mmkg.graph import run_batches
from mmkg.graph.schema import apply_schema, reset_database, schema_statements
from mmkg.schema import CONSTRAINTS, Label, kg_relation_type, quote


def test_schema_cypher_matches_python_constraints():
    declared = set()
    for statement in schema_statements():
        m = re.match(r"CREATE CONSTRAINT (\w+) IF NOT EXISTS FOR \(n:(\w+)\) REQUIRE n\.(\w+) IS UNIQUE",
                     statement)
        if m:
            declared.add(m.groups())
    assert declared == {(c.name, c.label.value, c.prop.value) for c in CONSTRAINTS}
    assert {c.label for c in CONSTRAINTS} == set(Label)


def _constraints(driver, database):
    records, _, _ = driver.execute_query(
        "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties "
        "RETURN name, type, labelsOrTypes, properties ORDER BY name", database_=database)
    return [dict(r) for r in records]


def test_schema_applied_twice_gives_same_constraints(empty_db, database):
    first = _constraints(empty_db, database)
    names = apply_schema(empty_db, database)
    assert _constraints(empty_db, database) == first
    assert {c.name for c in CONSTRAINTS} <= set(names)
    assert len(first) == len(CONSTRAINTS)


def test_uniqueness_violation_is_a_clear_error(empty_db, database):
    query = "UNWIND $rows AS row CREATE (:Track {id: row.id})"
    run_batches(empty_db, database, query, [{"id": "t1"}], batch_size=10)
    with pytest.raises(DatabaseError) as info:
        run_batches(empty_db, database, query, [{"id": "t1"}], batch_size=10)
    message = str(info.value)
    assert "Track" in message and "t1" in message and "already exists" in message


@pytest.mark.parametrize("name", ["music.artist.origin", "film.actor.film", "origin", "a-b_c.d"])
def test_kg_relation_names_map_to_themselves(name):
    assert kg_relation_type(name) == name


@pytest.mark.parametrize("name, why", [("", "invalid"), ("1abc", "invalid"), ("a b", "invalid"),
                                       ("x`) DETACH DELETE n //", "invalid"), ("LISTENED", "reserved"),
                                       ("a" * 200, "invalid")])
def test_bad_kg_relation_names_are_rejected(name, why):
    with pytest.raises(SchemaError, match="expected a letter followed by" if why == "invalid" else "is reserved by mmkg.s schema"):
        kg_relation_type(name)


def test_quote_escapes_backticks():
    assert quote("a`b") == "`a``b`"


def test_dotted_relation_type_round_trips_through_neo4j(empty_db, database):
    rel = quote(kg_relation_type("music.artist.origin"))
    empty_db.execute_query(f"CREATE (:Entity {{id: 'a'}})-[:{rel}]->(:Entity {{id: 'b'}})",
                           database_=database)
    records, _, _ = empty_db.execute_query("MATCH ()-[r]->() RETURN type(r) AS t", database_=database)
    assert [r["t"] for r in records] == ["music.artist.origin"]


def test_reset_words_neo4j_errors(driver):
    with pytest.raises(DatabaseError, match="nosuchdb"):
        reset_database(driver, "nosuchdb")
