"""Neo4j access: driver factory, the ``cypher/`` query loader, and batched writes with retries."""

from mmkg.graph.driver import connect, check_connection
from mmkg.graph.queries import CYPHER_DIR, load_query, read_named, read_rows
from mmkg.graph.batch import run_batches, WriteSummary

__all__ = ["connect", "check_connection", "load_query", "read_rows", "read_named", "CYPHER_DIR", "run_batches", "WriteSummary"]
