"""A small, hand-checkable MMKG written straight into Neo4j with Cypher parameters (export tests).

Tracks ``"1"``..``"12"`` (numeric ids, so index order is 1, 2, ..., 10, 11, 12)::

    tracks 1-4 → artist a1, 5-8 → a2, 9-12 → a3          (PERFORMED_BY)
    tracks 1-6 → genre g1 "Rock", 7-12 → g2 "Jazz"        (HAS_GENRE)
    tracks 1, 2 → album al1 → a1                          (ON_ALBUM, PERFORMED_BY)
    a1 -[music.artist.origin]-> e1 -[location.location.containedby]-> e2
    a2 -[music.artist.origin]-> e3;  e9 is an isolated Entity
    track.year = 1990 + id
    audio_demo (Audio, dim 4) on tracks 1-10; text_demo (Text, dim 2) on every track

Users (LISTENED {plays, ts}; ts = 1000·user + 10·track, so later tracks are newer)::

    u1: 1-5   u2: 3-8   u3: 7-12   u4: 1, 9   u5: 2, 6, 10   u6: 1-10
"""

from __future__ import annotations

from mmkg.schema import kg_relation_type, quote

LISTENS = {
    "u1": [1, 2, 3, 4, 5], "u2": [3, 4, 5, 6, 7, 8], "u3": [7, 8, 9, 10, 11, 12],
    "u4": [1, 9], "u5": [2, 6, 10], "u6": list(range(1, 11)),
}
KG_EDGES = 12 + 12 + 2 + 1 + 3  # PERFORMED_BY, HAS_GENRE, ON_ALBUM, album→artist, generic


def audio_vector(track: int) -> list[float]:
    return [float(track), 0.5, -1.0, track / 10]


def text_vector(track: int) -> list[float]:
    return [float(-track), 2.0]


def build(driver, database: str) -> None:
    """Write the graph described in the module docstring."""
    def run(query: str, **params) -> None:
        driver.execute_query(query, params, database_=database)

    tracks = [{"id": str(t), "year": 1990 + t, "artist": f"a{(t - 1) // 4 + 1}",
               "genre": "g1" if t <= 6 else "g2"} for t in range(1, 13)]
    run("UNWIND ['a1', 'a2', 'a3'] AS id MERGE (:Artist {id: id, name: 'Artist ' + id})")
    run("UNWIND [['g1', 'Rock'], ['g2', 'Jazz']] AS g MERGE (:Genre {id: g[0], name: g[1]})")
    run("UNWIND $rows AS row MERGE (t:Track {id: row.id}) SET t.year = row.year "
        "WITH t, row MATCH (a:Artist {id: row.artist}), (g:Genre {id: row.genre}) "
        "MERGE (t)-[:PERFORMED_BY]->(a) MERGE (t)-[:HAS_GENRE]->(g)", rows=tracks)
    run("MERGE (al:Album {id: 'al1', title: 'First'}) WITH al MATCH (a:Artist {id: 'a1'}) "
        "MERGE (al)-[:PERFORMED_BY]->(a) WITH al "
        "MATCH (t:Track) WHERE t.id IN ['1', '2'] MERGE (t)-[:ON_ALBUM]->(al)")
    origin = quote(kg_relation_type("music.artist.origin"))
    contained = quote(kg_relation_type("location.location.containedby"))
    run("UNWIND ['e1', 'e2', 'e3', 'e9'] AS id MERGE (:Entity {id: id})")
    run(f"MATCH (a1:Artist {{id: 'a1'}}), (a2:Artist {{id: 'a2'}}), (e1:Entity {{id: 'e1'}}), "
        f"(e2:Entity {{id: 'e2'}}), (e3:Entity {{id: 'e3'}}) "
        f"MERGE (a1)-[:{origin}]->(e1) MERGE (e1)-[:{contained}]->(e2) MERGE (a2)-[:{origin}]->(e3)")
    rows = [{"user": u, "track": str(t), "plays": 10 * t, "ts": 1000 * int(u[1:]) + 10 * t}
            for u, ts in LISTENS.items() for t in ts]
    run("UNWIND $rows AS row MERGE (u:User {id: row.user}) WITH u, row "
        "MATCH (t:Track {id: row.track}) MERGE (u)-[r:LISTENED]->(t) SET r.plays = row.plays, r.ts = row.ts",
        rows=rows)
    add_feature(driver, database, "audio_demo", "Audio", {t: audio_vector(t) for t in range(1, 11)})
    add_feature(driver, database, "text_demo", "Text", {t: text_vector(t) for t in range(1, 13)})


def add_feature(driver, database: str, name: str, kind: str, vectors: dict[int, list[float]]) -> None:
    """Attach ``(:Feature:<kind> {name, dim, vector, ...})`` nodes to tracks."""
    rows = [{"track": str(t), "id": f"{t}/{name}", "vector": v, "dim": len(v)} for t, v in vectors.items()]
    driver.execute_query(
        f"UNWIND $rows AS row MATCH (t:Track {{id: row.track}}) "
        f"MERGE (f:Feature {{id: row.id}}) SET f:{quote(kind)}, f.name = $name, f.dim = row.dim, "
        "f.vector = row.vector, f.extractor = 'test', f.version = '1', f.source = 'test' "
        "MERGE (t)-[:HAS_FEATURE]->(f)",
        {"rows": rows, "name": name}, database_=database)
