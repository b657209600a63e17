"""A small in-memory :class:`ExportedGraph` with a learnable signal, for training tests.

Tracks belong to artists (``artist = track % n_artists``) and tags (``tag = artist % n_tags``);
each user favours two artists and listens mostly to their tracks, so both the KG (shared artist)
and the ``audio_demo`` modality (a noisy one-hot of the artist, missing for some tracks) carry
the preference. One ``Entity`` node has no edge at all (self-loop case).
"""

from __future__ import annotations

import dgl
import numpy as np
import torch

from mmkg.export import ExportedGraph


def make_export(n_users: int = 48, n_items: int = 64, n_artists: int = 8, n_tags: int = 4,
                listens: int = 12, seed: int = 0) -> ExportedGraph:
    rng = np.random.default_rng(seed)
    artist_of = np.arange(n_items) % n_artists
    pairs = []
    for u in range(n_users):
        fav = rng.choice(n_artists, 2, replace=False)
        liked = np.flatnonzero(np.isin(artist_of, fav))
        others = np.flatnonzero(~np.isin(artist_of, fav))
        n_noise = listens // 6
        items = np.concatenate([rng.choice(liked, min(listens - n_noise, len(liked)), replace=False),
                                rng.choice(others, min(n_noise, len(others)), replace=False)])
        pairs += [(u, i) for i in items]
    pairs = np.array(pairs, dtype=np.int64)

    split = {"train": [], "valid": [], "test": [], "valid_neg": [], "test_neg": []}
    for u in range(n_users):
        mine = rng.permutation(pairs[pairs[:, 0] == u])
        n = len(mine)
        a, b = int(n * 0.6), int(n * 0.8)
        split["train"].append(mine[:a])
        split["valid"].append(mine[a:b])
        split["test"].append(mine[b:])
        never = np.setdiff1d(np.arange(n_items), mine[:, 1])
        for key, part in (("valid_neg", mine[a:b]), ("test_neg", mine[b:])):
            split[key].append(np.stack([np.full(len(part), u), rng.choice(never, len(part))], 1))
    split = {k: np.concatenate(v).astype(np.int64) for k, v in split.items()}

    tracks = torch.arange(n_items)
    graph = dgl.heterograph({
        ("Track", "PERFORMED_BY", "Artist"): (tracks, torch.as_tensor(artist_of)),
        ("Track", "TAGGED", "Tag"): (tracks, torch.as_tensor(artist_of % n_tags)),
        ("Artist", "music.artist.origin", "Entity"): (torch.tensor([0, 1]), torch.tensor([0, 0])),
        ("User", "LISTENED", "Track"): (torch.as_tensor(split["train"][:, 0]),
                                        torch.as_tensor(split["train"][:, 1])),
    }, num_nodes_dict={"Track": n_items, "Artist": n_artists, "Tag": n_tags, "Entity": 2,
                       "User": n_users})

    audio = np.eye(n_artists)[artist_of] + 0.1 * rng.standard_normal((n_items, n_artists))
    audio_mask = rng.random(n_items) > 0.2
    audio[~audio_mask] = 0.0
    modalities = {
        "audio_demo": {"kind": "Audio", "values": torch.tensor(audio, dtype=torch.float32),
                       "mask": torch.as_tensor(audio_mask)},
        "text_demo": {"kind": "Text", "values": torch.randn(n_items, 5, generator=torch.Generator().manual_seed(seed)),
                      "mask": torch.ones(n_items, dtype=torch.bool)},
    }
    return ExportedGraph(
        graph=graph,
        id_maps={"Track": [f"t{i}" for i in range(n_items)], "User": [f"u{i}" for i in range(n_users)],
                 "Artist": [f"a{i}" for i in range(n_artists)], "Tag": [f"g{i}" for i in range(n_tags)],
                 "Entity": ["e0", "e1"]},
        relations=[("Track", "PERFORMED_BY", "Artist"), ("Track", "TAGGED", "Tag"),
                   ("Artist", "music.artist.origin", "Entity")],
        modalities=modalities, split=split,
        manifest={"split": {"protocol": "synthetic", "seed": seed}, "source": "tests/synthetic_export.py"},
    )
