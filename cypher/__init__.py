"""Every Cypher statement of mmkg, one ``.cypher`` file each, installed as package data.

Read them through :func:`mmkg.graph.queries.load_query`; the Browser style and guide are in
``browser/``.
"""
