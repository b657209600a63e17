"""mmkg — a music recommender whose multi-modal knowledge graph lives in Neo4j (MKGCN model).

DGL picks its tensor backend when first imported: from ``$DGLBACKEND``, else from
``~/.dgl/config.json``, else it prints "DGL backend not selected or invalid" and writes that file.
mmkg only runs DGL on PyTorch, so the backend is set here, before any module of mmkg imports dgl
(a value the user set is kept).
"""

import os

os.environ.setdefault("DGLBACKEND", "pytorch")

__version__ = "0.1.0"
