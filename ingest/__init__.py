"""Catalog ingestion: read a dataset folder, validate every row, write the graph to Neo4j.

``mmkg.ingest.pipeline.ingest`` is the entry point (``mmkg ingest``). Layers, each importing only
those above it:

1. ``featureset``, ``graphdata``, ``validate``: the data a reader returns and its problems;
2. ``features`` (media kinds and extractors, registered in ``features.registry``) and
   ``readers`` (one module per catalog format, registered in ``readers.registry``);
3. ``writers`` (idempotent batched upserts), then ``features.compute`` (resumable extraction
   into Neo4j) and ``pipeline``.

Submodules are imported on use so that ``mmkg --help`` stays fast.
"""
