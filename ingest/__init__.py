"""Catalog ingestion: read a dataset folder, validate every row, write the graph to Neo4j.

``ingest.pipeline.ingest`` is the entry point (``mmkg ingest``); ``ingest.readers`` holds one
reader per format, ``ingest.validate`` the checks, ``ingest.writers`` the batched MERGE writers.
Submodules are imported on use so that ``mmkg --help`` stays fast.
"""
