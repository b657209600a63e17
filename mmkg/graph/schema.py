"""Apply ``cypher/schema.cypher`` and empty a database."""

from __future__ import annotations

from neo4j import Driver

from mmkg.config import BATCH
from mmkg.errors import DatabaseError
from mmkg.graph.queries import load_query, load_statements, render, run_implicit


def schema_statements() -> list[str]:
    """The statements of ``cypher/schema.cypher`` (comments removed)."""
    return load_statements("schema")


def apply_schema(driver: Driver, database: str) -> list[str]:
    """Create every constraint/index of ``schema.cypher`` that does not exist; return all names.

    Raises:
        DatabaseError: Neo4j refused a statement.
    """
    try:
        for statement in schema_statements():
            run_implicit(driver, database, statement)
    except DatabaseError as e:
        raise DatabaseError(f"applying cypher/schema.cypher failed: {e}") from e
    return sorted(r["name"] for r in run_implicit(driver, database, load_query("schema_index_names")))


def reset_database(driver: Driver, database: str, *, batch_size: int = BATCH.delete) -> None:
    """Delete all data (``batch_size`` nodes per transaction), then drop every constraint and index.

    Raises:
        DatabaseError: Neo4j refused a step (the database may be partly emptied; re-run it).
    """
    run_implicit(driver, database, load_query("delete_all"), batchSize=batch_size)
    for row in run_implicit(driver, database, load_query("schema_constraint_names")):
        run_implicit(driver, database, render("schema_drop_constraint", name=row["name"]))
    for row in run_implicit(driver, database, load_query("schema_index_names")):
        run_implicit(driver, database, render("schema_drop_index", name=row["name"]))
