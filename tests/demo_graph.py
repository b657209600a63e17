"""A small, hand-checkable demo graph and run folders with exactly known vectors (publish and
query tests).

Tracks ``t0``..``t11`` (even = rock, odd = jazz; artist ``a{i % 3}``), users ``u0``..``u3``
listening to ``t{j}`` and ``t{j+4}``, plus the KG extras of :func:`build_demo_graph`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from mmkg.train.run_folder import Embeddings, RunFolder

N_TRACKS, N_USERS, K = 12, 4, 8
GENRES = {"g-rock": "rock", "g-jazz": "jazz"}
ARTISTS = {"a0": "Ada", "a1": "Bix", "a2": "Cleo"}

DEMO_GRAPH = """
UNWIND $genres AS g MERGE (:Genre {id: g.id, name: g.name})
WITH count(*) AS _
UNWIND $artists AS a MERGE (:Artist {id: a.id, name: a.name})
WITH count(*) AS _
UNWIND $tracks AS row
MERGE (t:Track {id: row.id}) SET t.title = row.title
WITH t, row
MATCH (g:Genre {id: row.genre}), (a:Artist {id: row.artist})
MERGE (t)-[:HAS_GENRE]->(g)
MERGE (t)-[:PERFORMED_BY]->(a)
WITH count(*) AS _
UNWIND $listened AS l
MERGE (u:User {id: l.user})
WITH u, l MATCH (t:Track {id: l.track})
MERGE (u)-[:LISTENED {plays: 3}]->(t)
"""
KG_EXTRAS = """
MERGE (al:Album {id: 'al0', title: 'First Album'})
MERGE (tag:Tag {id: 'tag-chill', name: 'chill'})
MERGE (e:Entity {id: 'e-paris', name: 'Paris'})
WITH al, tag, e
MATCH (t0:Track {id: 't0'}), (t4:Track {id: 't4'}), (t8:Track {id: 't8'}), (t11:Track {id: 't11'})
MATCH (a0:Artist {id: 'a0'}), (a1:Artist {id: 'a1'})
MERGE (t0)-[:ON_ALBUM]->(al) MERGE (t4)-[:ON_ALBUM]->(al)
MERGE (t8)-[:TAGGED]->(tag) MERGE (t11)-[:TAGGED]->(tag)
MERGE (a0)-[:`music.artist.origin`]->(e) MERGE (a1)-[:`music.artist.origin`]->(e)
MERGE (al)-[:PERFORMED_BY]->(a0)
WITH e
MATCH (t6:Track {id: 't6'}), (t9:Track {id: 't9'}), (t0:Track {id: 't0'})
MERGE (t6)-[:`music.recording.place`]->(e)
MERGE (t9)-[:`music.recording.cover_of`]->(t0)
MERGE (newcomer:User {id: 'u-new'})
MERGE (late:User {id: 'u-late'})
MERGE (late)-[:LISTENED {plays: 1}]->(t0)
"""


def track_id(i: int) -> str:
    return f"t{i}"


def listened_pairs() -> list[tuple[str, str]]:
    """User ``u<j>`` listened to tracks ``j, j+4`` (so rock fans are u0, u2 and jazz fans u1, u3)."""
    return [(f"u{j}", track_id(i)) for j in range(N_USERS) for i in (j, j + 4)]


def build_demo_graph(driver, database: str) -> None:
    """12 tracks (even = rock, odd = jazz; artist i % 3), 4 users with 2 listens each, plus an
    album (t0, t4; by Ada), a tag (t8, t11), an entity Paris (origin of Ada and Bix, place of t6),
    t9 a cover of t0, a user with no history (u-new) and one unknown to models (u-late)."""
    tracks = [{"id": track_id(i), "title": f"Song {i}", "genre": "g-rock" if i % 2 == 0 else "g-jazz",
               "artist": f"a{i % 3}"} for i in range(N_TRACKS)]
    driver.execute_query(DEMO_GRAPH, {
        "genres": [{"id": k, "name": v} for k, v in GENRES.items()],
        "artists": [{"id": k, "name": v} for k, v in ARTISTS.items()],
        "tracks": tracks,
        "listened": [{"user": u, "track": t} for u, t in listened_pairs()],
    }, database_=database)
    driver.execute_query(KG_EXTRAS, database_=database)


def write_run(path: Path, *, dim: int = 4, seed: int = 0, k: int = K, model: str | None = None) -> Path:
    """A run folder with exactly known vectors, written through :class:`RunFolder`: rock tracks
    point along axis 0, jazz along axis 1; users follow their genre; topk = exact top-k of
    user·track (listened tracks included, as a model's raw ranking would). Its export (in
    ``path/export``) holds only ``manifest.json`` = ``{"seed": seed, "counts": {}}``: publish
    reads nothing else of it. ``model``: the model name its ``metrics.json`` records (none by
    default; a dot-product model such as ``bpr`` can be served from vectors)."""
    g = torch.Generator().manual_seed(seed)
    genre = torch.tensor([i % 2 for i in range(N_TRACKS)])
    track = 0.3 * torch.randn(N_TRACKS, dim, generator=g)
    track[torch.arange(N_TRACKS), genre] += 2.0
    user = 0.1 * torch.randn(N_USERS, dim, generator=g)
    user[torch.arange(N_USERS), torch.arange(N_USERS) % 2] += 1.0
    scores, items = torch.topk(user @ track.T, k, dim=1)
    run = RunFolder(path)
    run.save_embeddings(Embeddings(
        track_ids=[track_id(i) for i in range(N_TRACKS)], user_ids=[f"u{j}" for j in range(N_USERS)],
        track=track, user=user, topk_items=items, topk_scores=scores))
    run.save_config({"dim": dim, "seed": seed})
    run.save_metrics({"test": {"auc": 0.5 + seed / 100}, **({"model": model} if model else {})})
    export = path / "export"
    export.mkdir(exist_ok=True)
    (export / "manifest.json").write_text(json.dumps({"seed": seed, "counts": {}}))
    run.save_model({}, config={"dim": dim, "seed": seed}, export=export, epoch=0)
    return path
