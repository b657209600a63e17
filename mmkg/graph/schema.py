"""Apply ``cypher/schema.cypher`` and empty a database."""

from __future__ import annotations

from neo4j import Driver
from neo4j.exceptions import Neo4jError

from mmkg.errors import DatabaseError
from mmkg.graph.queries import CYPHER_DIR, split_statements
from mmkg.schema import quote


def schema_statements() -> list[str]:
    """The statements of ``cypher/schema.cypher`` (comments removed)."""
    text = (CYPHER_DIR / "schema.cypher").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return split_statements(body)


def apply_schema(driver: Driver, database: str) -> list[str]:
    """Create every constraint/index of ``schema.cypher`` that does not exist; return all names."""
    try:
        for statement in schema_statements():
            driver.execute_query(statement, database_=database)
        records, _, _ = driver.execute_query(
            "SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name", database_=database
        )
    except Neo4jError as e:
        raise DatabaseError(f"applying cypher/schema.cypher failed: {e.message}") from e
    return sorted(r["name"] for r in records)


def reset_database(driver: Driver, database: str) -> None:
    """Delete all data (in batches of 10k), then drop every constraint and index."""
    with driver.session(database=database) as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    records, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name", database_=database)
    for r in records:
        driver.execute_query(f"DROP CONSTRAINT {quote(r['name'])} IF EXISTS", database_=database)
    records, _, _ = driver.execute_query(
        "SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name", database_=database
    )
    for r in records:
        driver.execute_query(f"DROP INDEX {quote(r['name'])} IF EXISTS", database_=database)
