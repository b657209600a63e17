"""Neo4j access: driver factory, the ``cypher/`` query loader and renderer, batched writes with retries."""

from mmkg.graph.batch import ParameterBatch, WriteSummary, run_batches, run_parameter_batches
from mmkg.graph.driver import check_connection, connect
from mmkg.graph.queries import (CYPHER_DIR, TrustedCypher, load_query, load_statements, open_session,
                                read_named, read_rows, read_together, render, renew_bookmarks, run_implicit,
                                write_rows)

__all__ = ["connect", "check_connection", "CYPHER_DIR", "TrustedCypher", "load_query",
           "load_statements", "open_session", "renew_bookmarks", "render", "read_rows", "read_named", "read_together", "write_rows",
           "run_implicit", "run_batches", "run_parameter_batches", "ParameterBatch", "WriteSummary"]
