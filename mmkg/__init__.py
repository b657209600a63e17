"""mmkg — a music recommender whose multi-modal knowledge graph lives in Neo4j (MKGCN model)."""

__version__ = "0.1.0"
