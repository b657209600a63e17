"""Catalog ingestion: read a dataset folder, validate every row, write the graph to Neo4j.

``mmkg.ingest.pipeline.ingest`` is the entry point (``mmkg ingest``); ``mmkg.ingest.readers`` holds one
reader per format, ``mmkg.ingest.validate`` the checks, ``mmkg.ingest.writers`` the batched MERGE writers.
Submodules are imported on use so that ``mmkg --help`` stays fast.
"""
