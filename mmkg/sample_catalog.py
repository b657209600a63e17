"""A synthetic ``catalog`` folder (``docs/contracts.md`` §1) with real media and planted taste.

Every track has a **genre** (visible in the KG: ``HAS_GENRE``, and correlated with its artist and
tags), a **mood** (happy, sad, angry or calm) and a **tempo**. Mood appears *only* in the media —
lyrics words with VADER-polar sentiment, and the cover palette and texture — never in a table;
tempo appears only in the audio. Genre shapes the audio's timbre too.

Each user has a latent taste: ``θ_u ~ Dir(α)`` over genres, ``φ_u ~ Dir(α)`` over moods and a
preference ``ψ_u ~ Beta(0.7, 0.7)`` for fast over slow tracks. A listen picks a cell
``c = (genre, mood, tempo bin)`` with probability ∝ ``θ_ug^GENRE_WEIGHT · φ_um^MOOD_WEIGHT ·
ψ_ub · mass_c`` (``mass_c``: total popularity of the cell's tracks), then a track of the cell ∝
popularity (log-normal, hence a long tail); a share ``NOISE`` of listens instead picks any track
∝ popularity. So a structure-only model can learn genre taste, while mood and tempo taste need
the modalities — a multi-modal model can beat it by construction.

``popularity_skew = s > 0`` makes listens heavy-tailed across tracks, as on real services: every
track's popularity is multiplied by a Zipf prior ``r^-s``, ``r`` its rank in a random order (a
hit can come from any artist, genre or mood). Taste still picks the cell, so it stays learnable,
but the hits take most listens and item popularity becomes a hard baseline (s = 1, 1000 tracks:
the top 10 % of tracks get ~60 % of the interactions, against ~40 % at s = 0). Repeated picks of
a hit merge into plays, so a skewed catalog has fewer interaction rows (~20 % fewer at s = 1).
``s = 0`` is the catalog of earlier releases, byte for byte.

``new_releases = n > 0`` also writes ``n`` tracks released after every listen to
``new_releases/``, a catalog folder of its own (:class:`_Releases`): by the same artists, on new
albums, with media and hidden attributes drawn as above, and no listens, to ingest after training
(``make new-releases``).

The hidden attributes are written to ``ground_truth/`` (not a catalog table; ingest ignores it).
Everything is drawn from ``numpy.random.default_rng`` streams derived from the seed (media from a
per-track stream), so a seed gives byte-identical tables and media. Tables and the listening
model are vectorised: 100k tracks / 1M interactions take well under a minute without media.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from mmkg.errors import MmkgError

log = logging.getLogger(__name__)

TableFormat = Literal["auto", "csv", "parquet"]

GENRES = ("rock", "pop", "jazz", "classical", "electronic", "hiphop", "folk", "metal")
GENRE_SHARE = np.array([0.2, 0.22, 0.08, 0.08, 0.14, 0.14, 0.08, 0.06])
#: Per genre: fundamental (Hz), harmonic roll-off exponent (timbre: low = bright), base tempo
#: (BPM), drum level, noise level, distortion gain.
GENRE_SOUND = {
    "rock": (110.0, 1.2, 120, 0.8, 0.04, 2.0),
    "pop": (220.0, 1.6, 110, 0.6, 0.01, 0.0),
    "jazz": (147.0, 2.2, 140, 0.25, 0.01, 0.0),
    "classical": (262.0, 2.8, 72, 0.0, 0.0, 0.0),
    "electronic": (55.0, 0.9, 128, 1.0, 0.0, 0.0),
    "hiphop": (65.0, 1.8, 90, 1.0, 0.02, 0.0),
    "folk": (196.0, 2.0, 100, 0.15, 0.01, 0.0),
    "metal": (82.0, 0.7, 170, 1.0, 0.12, 6.0),
}
GENRE_PARENT = {"rock": "popular", "pop": "popular", "jazz": "art", "classical": "art",
                "electronic": "dance", "hiphop": "dance", "folk": "traditional", "metal": "popular"}
MOODS = ("happy", "sad", "angry", "calm")
TAGS = ("live", "acoustic", "remastered", "instrumental", "female vocals", "male vocals", "cover",
        "remix", "70s", "80s", "90s", "2000s", "2010s", "guitar", "piano", "synth", "strings",
        "brass", "uk", "us", "indie", "classic", "duet", "demo")
INSTRUMENTAL = TAGS.index("instrumental")
N_COUNTRIES = 12
DECADES = (1970, 1980, 1990, 2000, 2010, 2020)

TASTE_CONCENTRATION = 0.5
GENRE_WEIGHT = 1.0
MOOD_WEIGHT = 1.5
NOISE = 0.15
POPULARITY_SIGMA = 1.2
TEMPO_SPREAD = 0.15
"""Log-normal spread of a track's tempo around its genre's base tempo."""

AUDIO_RATE = 22050
AUDIO_SECONDS = 3.0
COVER_SIZE = 64
LOSSY_EVERY = 3
"""Every third track (``t2``, ``t5``, ...) has an MP3 and a JPEG cover; the others WAV and PNG."""
JPEG_QUALITY = 90
NEW_RELEASES = "new_releases"
"""The sub-folder of a catalog holding its new releases (a catalog folder of its own)."""
RELEASES_STREAM = 4
"""New releases draw from stream ``[seed, 0, RELEASES_STREAM]`` (the Zipf prior: ``[seed, 0,
3]``; media: ``[seed, track, 0..2]``), so asking for them changes nothing else."""
PARQUET_ABOVE = 200_000
"""``fmt="auto"`` writes Parquet when the interactions table has more rows than this."""
TS_START, TS_END = 1640995200, 1735689600  # 2022-01-01 .. 2025-01-01 (UTC, epoch seconds)

_TITLE_ADJ = ("Northern", "Silver", "Paper", "Electric", "Distant", "Hidden", "Golden", "Winter",
              "Summer", "Midnight", "Velvet", "Crystal", "Open", "Second", "Little", "Last",
              "First", "Long", "Wild", "Quiet", "Neon", "Copper", "Early", "Western")
_TITLE_NOUN = ("Road", "River", "Window", "Garden", "Letter", "Train", "Mirror", "City", "Signal",
               "Harbor", "Station", "Avenue", "Echo", "Line", "Room", "Field", "Light", "Song",
               "Tide", "Wire", "Bridge", "Tower", "Island", "Engine")
_MOOD_WORDS = {
    "happy": ("happy", "joy", "love", "smile", "wonderful", "sunshine", "beautiful", "laugh",
              "great", "delight", "celebrate", "glad"),
    "sad": ("sad", "cry", "tears", "lonely", "broken", "lost", "pain", "sorrow", "grief", "hurt",
            "miserable", "heartbreak"),
    "angry": ("hate", "angry", "rage", "fight", "destroy", "furious", "war", "scream", "kill",
              "damn", "hostile", "bitter"),
    "calm": ("peace", "calm", "gentle", "quiet", "soft", "easy", "rest", "dream", "relaxed",
             "comfort", "serene", "tender"),
}
_MOOD_PHRASES = ("so {w}", "feeling {w}", "{w} and {v}", "all this {w}", "nothing but {w}",
                 "{w} in my heart", "such {w}", "only {w} tonight")
_SUBJECTS = ("I", "you", "we", "they", "she", "he")
_VERBS = ("walk", "sing", "drive", "wait", "look", "run", "stand", "call", "turn", "move")
_PLACES = ("through the night", "by the river", "in the city", "on the road", "under the sky",
           "at the station", "across the street", "in the morning", "down the line",
           "past the tower")
_GENRE_WORDS = {
    "rock": ("guitar", "highway"), "pop": ("radio", "party"), "jazz": ("saxophone", "club"),
    "classical": ("symphony", "hall"), "electronic": ("bass", "lights"),
    "hiphop": ("block", "mic"), "folk": ("mountain", "valley"), "metal": ("thunder", "steel"),
}
#: Cover palette per mood: hue range (degrees), saturation range, value range, texture level.
_PALETTES = {
    "happy": ((30, 60), (0.7, 1.0), (0.85, 1.0), 0.3),
    "sad": ((200, 240), (0.3, 0.6), (0.2, 0.45), 0.15),
    "angry": ((-12, 12), (0.85, 1.0), (0.45, 0.9), 1.0),
    "calm": ((90, 180), (0.15, 0.4), (0.75, 0.95), 0.0),
}


@dataclass
class SampleCatalog:
    """What :func:`generate_sample_catalog` wrote: row counts per table, media file count."""

    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    media_files: int = 0
    fmt: str = "csv"
    seconds: float = 0.0
    new_releases: "SampleCatalog | None" = None
    """What was written to ``path / NEW_RELEASES``, when new releases were asked for."""


def generate_sample_catalog(out: Path, *, tracks: int, users: int, seed: int = 0,
                            media: bool = True, interactions_per_user: int = 30,
                            popularity_skew: float = 0.0, new_releases: int = 0,
                            fmt: TableFormat = "auto", overwrite: bool = False,
                            progress: bool = False) -> SampleCatalog:
    """Write a synthetic catalog with ``tracks`` tracks and ``users`` users to ``out``.

    Args:
        out: folder to create; it must be missing or empty unless ``overwrite`` (which replaces
            only what this function writes).
        tracks, users: catalog size (at least 10 tracks and 1 user).
        seed: the one source of randomness.
        media: synthesise audio (WAV; MP3 for every ``LOSSY_EVERY``-th track), covers (PNG;
            JPEG likewise) and lyrics files under ``media/``.
        interactions_per_user: mean listening-history length (log-normal around it, at least 3;
            duplicate picks merge into one row with more plays, so totals come out a little lower).
        popularity_skew: exponent of the Zipf prior over tracks (module docstring); 0 = none.
        new_releases: also write this many tracks released after every listen to
            ``out / NEW_RELEASES``: a catalog folder of their albums, tracks, tags, album triples
            and media (no listens), referencing the main catalog's artists, genres and tags, to
            ingest after training (``mmkg publish RUN --new-tracks`` embeds them). The main
            catalog is the same, byte for byte, with or without them.
        fmt: table format; ``auto`` = CSV, or Parquet above :data:`PARQUET_ABOVE` interactions.
        progress: show a progress bar while writing media.

    Raises:
        MmkgError: ``out`` is not empty (and not ``overwrite``), or sizes are out of range.
    """
    if tracks < 10 or users < 1 or interactions_per_user < 1:
        raise MmkgError("a sample catalog needs at least 10 tracks, 1 user, 1 interaction per user")
    if new_releases < 0:
        raise MmkgError(f"new releases must be >= 0, not {new_releases}")
    if not popularity_skew >= 0:
        raise MmkgError(f"popularity skew must be >= 0, not {popularity_skew}")
    started = time.perf_counter()
    out = Path(out)
    _prepare(out, overwrite)
    rng = np.random.default_rng(seed)
    # the prior has a stream of its own (media streams are [seed, track, 0..2])
    prior = zipf_prior(np.random.default_rng([seed, 0, 3]), tracks, popularity_skew)
    world = _World.draw(rng, tracks, prior)
    tables = world.tables(rng, media)
    listens, user_truth = _listen(rng, world, users, interactions_per_user)
    tables["users"] = pd.DataFrame({"id": _ids("u", users),
                                    "name": [f"listener {i}" for i in range(users)]})
    tables["interactions"] = listens
    n_rows = len(listens)
    if fmt == "auto":
        fmt = "parquet" if n_rows > PARQUET_ABOVE else "csv"
    for name, frame in tables.items():
        _write_table(frame, out / name, fmt)
    truth = out / "ground_truth"
    truth.mkdir()
    _write_table(world.truth(), truth / "tracks", fmt)
    _write_table(user_truth, truth / "users", fmt)
    summary = SampleCatalog(out, {k: len(v) for k, v in tables.items()}, fmt=fmt)
    if media:
        summary.media_files = _write_media(out, seed, tables["tracks"], np.arange(tracks),
                                           world.genre, world.mood, world.tempo, progress)
    if new_releases:
        summary.new_releases = _write_releases(out / NEW_RELEASES, world, tables, seed,
                                               new_releases, media, fmt, progress)
    (out / "README.md").write_text(_readme(summary, seed, media, popularity_skew))
    summary.seconds = time.perf_counter() - started
    return summary


# -- the world: artists, albums, tracks and their hidden attributes ---------------------------

@dataclass
class _World:
    n_tracks: int
    n_artists: int
    artist_genre: np.ndarray
    artist_country: np.ndarray
    artist_label: np.ndarray
    album_artist: np.ndarray
    album_decade: np.ndarray
    track_artist: np.ndarray
    track_album: np.ndarray
    genre: np.ndarray
    mood: np.ndarray
    tempo: np.ndarray
    fast: np.ndarray
    popularity: np.ndarray
    tags: list[np.ndarray]
    artist_pop: np.ndarray
    tag_affinity: np.ndarray
    """``[n_genres, n_tags]``: each genre's tag distribution."""

    @classmethod
    def draw(cls, rng: np.random.Generator, n_tracks: int, prior: np.ndarray) -> "_World":
        """A world of ``n_tracks`` tracks whose popularity is multiplied by ``prior [n_tracks]``."""
        n_artists = max(4, n_tracks // 8)
        artist_genre = rng.choice(len(GENRES), n_artists, p=GENRE_SHARE)
        albums_per_artist = 1 + rng.poisson(1.0, n_artists)
        album_artist = np.repeat(np.arange(n_artists), albums_per_artist)
        album_start = np.concatenate([[0], np.cumsum(albums_per_artist)[:-1]])
        artist_pop = rng.lognormal(0.0, 1.0, n_artists)
        track_artist = rng.choice(n_artists, n_tracks, p=artist_pop / artist_pop.sum())
        track_album = album_start[track_artist] + (
            rng.random(n_tracks) * albums_per_artist[track_artist]).astype(np.int64)
        genre, mood, tempo, fast = _draw_sound(rng, artist_genre[track_artist])
        popularity = (rng.lognormal(0.0, POPULARITY_SIGMA, n_tracks)
                      * artist_pop[track_artist] ** 0.5) * prior
        artist_country = rng.integers(0, N_COUNTRIES, n_artists)
        artist_label = rng.integers(0, max(3, n_artists // 20), n_artists)
        album_decade = rng.choice(len(DECADES), len(album_artist))
        tag_affinity = rng.dirichlet(np.full(len(TAGS), 0.3), size=len(GENRES))
        return cls(
            n_tracks=n_tracks, n_artists=n_artists, artist_genre=artist_genre,
            artist_country=artist_country, artist_label=artist_label,
            album_artist=album_artist, album_decade=album_decade,
            track_artist=track_artist, track_album=track_album, genre=genre, mood=mood,
            tempo=tempo, fast=fast, popularity=popularity,
            tags=_draw_tags(rng, genre, tag_affinity), artist_pop=artist_pop,
            tag_affinity=tag_affinity,
        )

    def tables(self, rng: np.random.Generator, media: bool) -> dict[str, pd.DataFrame]:
        n, n_albums = self.n_tracks, len(self.album_artist)
        tracks = pd.DataFrame({
            "id": _ids("t", n), "title": _titles(rng, n),
            "artist_id": _ids("a", self.n_artists)[self.track_artist],
            "album_id": _ids("al", n_albums)[self.track_album],
            "genre_id": _ids("g", len(GENRES))[self.genre],
        })
        if media:
            _add_media_columns(tracks, np.arange(n), self.tags)
        artists = pd.DataFrame({"id": _ids("a", self.n_artists),
                                "name": ["The " + _plural(t) for t in _titles(rng, self.n_artists)]})
        albums = pd.DataFrame({"id": _ids("al", n_albums), "title": _titles(rng, n_albums),
                               "artist_id": _ids("a", self.n_artists)[self.album_artist]})
        return {
            "genres": pd.DataFrame({"id": _ids("g", len(GENRES)), "name": list(GENRES)}),
            "tags": pd.DataFrame({"id": _ids("tag", len(TAGS)), "name": list(TAGS)}),
            "artists": artists, "albums": albums, "tracks": tracks,
            "track_tags": _track_tags(tracks["id"].to_numpy(), self.tags),
            "triples": self._triples(),
        }

    def _triples(self) -> pd.DataFrame:
        artists, albums = _ids("a", self.n_artists), _ids("al", len(self.album_artist))
        parts = [
            ("Artist", artists, "music.artist.origin",
             _ids("country_", N_COUNTRIES)[self.artist_country]),
            ("Artist", artists, "music.artist.label",
             _ids("label_", int(self.artist_label.max()) + 1)[self.artist_label]),
            ("Album", albums, "music.album.release_decade",
             np.array([f"decade_{d}" for d in DECADES], dtype=object)[self.album_decade]),
            ("Genre", _ids("g", len(GENRES)), "music.genre.parent_genre",
             np.array([f"genre_family_{GENRE_PARENT[g]}" for g in GENRES], dtype=object)),
        ]
        return pd.concat([pd.DataFrame({"head_label": label, "head": heads, "relation": rel,
                                        "tail_label": "Entity", "tail": tails})
                          for label, heads, rel, tails in parts], ignore_index=True)

    def truth(self) -> pd.DataFrame:
        return pd.DataFrame({
            "track_id": _ids("t", self.n_tracks),
            "genre": np.array(GENRES, dtype=object)[self.genre],
            "mood": np.array(MOODS, dtype=object)[self.mood],
            "tempo_bpm": self.tempo.round(2), "fast": self.fast,
            "popularity": self.popularity.round(6),
        })


@dataclass
class _Releases:
    """Tracks released after every listen of a :class:`_World`: by its artists (drawn ∝ their
    popularity), each releasing artist's on one new album of the 2020s; genre, mood, tempo and
    tags drawn as for the world's tracks. Their ids continue the world's (``t<n_tracks>``, …,
    ``al<n_albums>``, …)."""

    world: _World
    album_artist: np.ndarray
    """``[new albums]``: each new album's artist."""
    track_album: np.ndarray
    """``[n]``: each release's album, an index into :attr:`album_artist`."""
    genre: np.ndarray
    mood: np.ndarray
    tempo: np.ndarray
    fast: np.ndarray
    tags: list[np.ndarray]

    @classmethod
    def draw(cls, rng: np.random.Generator, world: _World, n: int) -> "_Releases":
        track_artist = rng.choice(world.n_artists, n, p=world.artist_pop / world.artist_pop.sum())
        album_artist, track_album = np.unique(track_artist, return_inverse=True)
        genre, mood, tempo, fast = _draw_sound(rng, world.artist_genre[track_artist])
        return cls(world=world, album_artist=album_artist, track_album=track_album, genre=genre,
                   mood=mood, tempo=tempo, fast=fast,
                   tags=_draw_tags(rng, genre, world.tag_affinity))

    @property
    def index(self) -> np.ndarray:
        """The releases' track numbers: ``n_tracks``, ``n_tracks + 1``, …"""
        return self.world.n_tracks + np.arange(len(self.genre))

    def tables(self, rng: np.random.Generator, media: bool,
               catalog: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """The releases' tables, with the rows of the world's ``catalog`` tables (artists,
        genres, tags) that they reference, so that the folder validates on its own."""
        n, first_album = len(self.genre), len(self.world.album_artist)
        album_ids = np.array([f"al{first_album + k}" for k in range(len(self.album_artist))],
                             dtype=object)
        artist_ids = _ids("a", self.world.n_artists)
        tracks = pd.DataFrame({
            "id": np.array([f"t{i}" for i in self.index], dtype=object), "title": _titles(rng, n),
            "artist_id": artist_ids[self.album_artist[self.track_album]],
            "album_id": album_ids[self.track_album], "genre_id": _ids("g", len(GENRES))[self.genre],
        })
        if media:
            _add_media_columns(tracks, self.index, self.tags)
        track_tags = _track_tags(tracks["id"].to_numpy(), self.tags)
        used = {"artists": set(tracks["artist_id"]), "genres": set(tracks["genre_id"]),
                "tags": set(track_tags["tag_id"])}
        return {
            **{name: catalog[name][catalog[name]["id"].isin(ids)] for name, ids in used.items()},
            "albums": pd.DataFrame({"id": album_ids, "title": _titles(rng, len(album_ids)),
                                    "artist_id": artist_ids[self.album_artist]}),
            "tracks": tracks, "track_tags": track_tags,
            "triples": pd.DataFrame({"head_label": "Album", "head": album_ids,
                                     "relation": "music.album.release_decade",
                                     "tail_label": "Entity", "tail": f"decade_{DECADES[-1]}"}),
        }

    def truth(self) -> pd.DataFrame:
        return pd.DataFrame({
            "track_id": [f"t{i}" for i in self.index],
            "genre": np.array(GENRES, dtype=object)[self.genre],
            "mood": np.array(MOODS, dtype=object)[self.mood],
            "tempo_bpm": self.tempo.round(2), "fast": self.fast,
        })


def _draw_sound(rng: np.random.Generator,
                artist_genre: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Genre (the artist's 80 % of the time), mood (independent of everything in the KG),
    tempo (log-normal around the genre's base) and fast (tempo above that base) per track."""
    n = len(artist_genre)
    genre = np.where(rng.random(n) < 0.8, artist_genre,
                     rng.choice(len(GENRES), n, p=GENRE_SHARE))
    mood = rng.integers(0, len(MOODS), n)
    base = np.array([GENRE_SOUND[g][2] for g in GENRES], dtype=np.float64)[genre]
    tempo = base * np.exp(rng.normal(0.0, TEMPO_SPREAD, n))
    return genre, mood, tempo, (tempo > base).astype(np.int64)


def _add_media_columns(tracks: pd.DataFrame, index: np.ndarray, tags: list[np.ndarray]) -> None:
    """The ``lyrics``, ``cover`` and ``audio`` paths of ``tracks`` (track numbers ``index``):
    no lyrics when tagged instrumental; lossy files for every ``LOSSY_EVERY``-th number."""
    names = tracks["id"].to_numpy()
    instrumental = np.array([INSTRUMENTAL in t for t in tags], dtype=bool)
    tracks["lyrics"] = np.where(instrumental, None, "media/lyrics/" + names + ".txt")
    lossy = index % LOSSY_EVERY == LOSSY_EVERY - 1
    tracks["cover"] = "media/covers/" + names + np.where(lossy, ".jpg", ".png")
    tracks["audio"] = "media/audio/" + names + np.where(lossy, ".mp3", ".wav")


def _track_tags(track_ids: np.ndarray, tags: list[np.ndarray]) -> pd.DataFrame:
    counts = np.array([len(t) for t in tags])
    return pd.DataFrame({
        "track_id": np.repeat(track_ids, counts),
        "tag_id": _ids("tag", len(TAGS))[np.concatenate(tags)] if counts.sum()
        else np.array([], dtype=object),
    })


def zipf_prior(rng: np.random.Generator, n: int, skew: float) -> np.ndarray:
    """``r^-skew`` for ``n`` tracks, ``r`` each one's rank (1 = the biggest hit) in a random
    order: a Zipf law of exponent ``skew``. Exactly 1.0 everywhere at ``skew = 0``."""
    return (rng.permutation(n) + 1.0) ** -skew


def _draw_tags(rng: np.random.Generator, genre: np.ndarray,
               affinity: np.ndarray) -> list[np.ndarray]:
    """0–4 tags per track, drawn without replacement from its genre's row of ``affinity``."""
    keys = np.log(affinity[genre] + 1e-12) + rng.gumbel(size=(len(genre), len(TAGS)))
    ranked = np.argsort(-keys, axis=1)
    counts = np.minimum(rng.poisson(1.5, len(genre)), 4)
    return [ranked[i, :counts[i]] for i in range(len(genre))]


# -- listening histories ----------------------------------------------------------------------

def _listen(rng: np.random.Generator, world: _World, n_users: int,
            mean_len: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Interactions ``user_id, track_id, plays, rating, ts`` drawn from the taste model above,
    and the users' hidden taste (``ground_truth/users``)."""
    n_g, n_m = len(GENRES), len(MOODS)
    theta = rng.dirichlet(np.full(n_g, TASTE_CONCENTRATION), n_users)
    phi = rng.dirichlet(np.full(n_m, TASTE_CONCENTRATION), n_users)
    psi = rng.beta(0.7, 0.7, n_users)
    user_truth = pd.DataFrame(
        {"user_id": _ids("u", n_users),
         **{f"genre_{g}": theta[:, i].round(6) for i, g in enumerate(GENRES)},
         **{f"mood_{m}": phi[:, i].round(6) for i, m in enumerate(MOODS)},
         "fast": psi.round(6)})

    # cell c = (genre · n_moods + mood) · 2 + fast
    cell = (world.genre * n_m + world.mood) * 2 + world.fast
    cells = np.arange(n_g * n_m * 2)
    cell_genre, cell_mood, cell_fast = cells // (2 * n_m), (cells // 2) % n_m, cells % 2
    tempo_pref = np.stack([1 - psi, psi], axis=1)
    taste = (theta[:, cell_genre] ** GENRE_WEIGHT) * (phi[:, cell_mood] ** MOOD_WEIGHT) \
        * tempo_pref[:, cell_fast]
    taste /= taste.sum(axis=1, keepdims=True)
    weight = taste * np.bincount(cell, weights=world.popularity, minlength=len(cells))
    weight /= weight.sum(axis=1, keepdims=True)

    sigma = 0.5
    lengths = np.maximum(3, np.rint(mean_len * rng.lognormal(-sigma ** 2 / 2, sigma, n_users)))
    user = np.repeat(np.arange(n_users), lengths.astype(np.int64))
    track = _pick_in_cell(rng, cell, world.popularity, _categorical_rows(rng, weight, user))
    noisy = rng.random(len(user)) < NOISE
    pop_cdf = np.cumsum(world.popularity) / world.popularity.sum()
    track[noisy] = np.minimum(np.searchsorted(pop_cdf, rng.random(noisy.sum()), side="right"),
                              world.n_tracks - 1)

    pair, repeats = np.unique(user * world.n_tracks + track, return_counts=True)
    u, t = np.divmod(pair, world.n_tracks)
    affinity = np.log(taste[u, cell[t]] * len(cells))  # > 0: liked more than a uniform taste
    plays = repeats + rng.geometric(0.3, len(pair)) - 1
    rating = np.clip(np.rint(2 * (3.0 + 0.6 * affinity + rng.normal(0, 0.7, len(pair)))), 2, 10) / 2
    listens = pd.DataFrame({
        "user_id": _ids("u", n_users)[u], "track_id": _ids("t", world.n_tracks)[t],
        "plays": plays.astype(np.int64), "rating": rating,
        "ts": rng.integers(TS_START, TS_END, len(pair)),
    })
    return listens, user_truth


def _categorical_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw from the categorical ``probs[r]`` for each ``r`` in ``rows`` (inverse CDF)."""
    n_rows, n_cols = probs.shape
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    flat = (cdf + np.arange(n_rows)[:, None]).ravel()
    picked = np.searchsorted(flat, rows + rng.random(len(rows)), side="right") - rows * n_cols
    return np.clip(picked, 0, n_cols - 1)


def _pick_in_cell(rng: np.random.Generator, cell: np.ndarray, popularity: np.ndarray,
                  picked: np.ndarray) -> np.ndarray:
    """For each picked cell, a track of that cell drawn ∝ popularity."""
    order = np.argsort(cell, kind="stable")
    sorted_cell, sorted_pop = cell[order], popularity[order]
    totals = np.bincount(sorted_cell, weights=sorted_pop)
    within = np.cumsum(sorted_pop) - np.repeat(np.cumsum(totals) - totals,
                                               np.bincount(sorted_cell))
    key = sorted_cell + np.minimum(within / totals[sorted_cell], 1.0 - 1e-12)
    pos = np.searchsorted(key, picked + rng.random(len(picked)) * (1 - 1e-9), side="left")
    return order[np.minimum(pos, len(order) - 1)]


# -- media --------------------------------------------------------------------------------------

def _write_media(out: Path, seed: int, tracks: pd.DataFrame, index: np.ndarray, genre: np.ndarray,
                 mood: np.ndarray, tempo: np.ndarray, progress: bool, label: str = "media") -> int:
    """Write the media files ``tracks`` names under ``out``; track ``k`` (number ``index[k]``)
    draws its lyrics, cover and audio from streams ``[seed, index[k], 0..2]``."""
    from mmkg.progress import progress_bar

    for sub in ("lyrics", "covers", "audio"):
        (out / "media" / sub).mkdir(parents=True, exist_ok=True)
    written = 0
    with progress_bar("files", disable=not progress) as bar:
        task = bar.add_task(label, total=len(tracks))
        for k, row in enumerate(tracks.itertuples(index=False)):
            i, g, m = int(index[k]), GENRES[genre[k]], MOODS[mood[k]]
            if row.lyrics is not None:
                (out / row.lyrics).write_text(
                    lyrics_text(np.random.default_rng([seed, i, 0]), m, g), encoding="utf-8")
                written += 1
            _write_cover(out / row.cover, cover_image(np.random.default_rng([seed, i, 1]), m))
            _write_audio(out / row.audio,
                         synth_audio(np.random.default_rng([seed, i, 2]), g, tempo[k]))
            written += 2
            bar.advance(task)
    return written


def lyrics_text(rng: np.random.Generator, mood: str, genre: str) -> str:
    """8–12 lines; ~70 % of them carry a word of ``mood`` (a tenth of those from another mood)."""
    lines = []
    for _ in range(int(rng.integers(8, 13))):
        line = (f"{_pick(rng, _SUBJECTS)} {_pick(rng, _VERBS)} {_pick(rng, _PLACES)}")
        if rng.random() < 0.25:
            line += f" with the {_pick(rng, _GENRE_WORDS[genre])}"
        if rng.random() < 0.7:
            pool = _MOOD_WORDS[mood if rng.random() > 0.1 else _pick(rng, MOODS)]
            phrase = _pick(rng, _MOOD_PHRASES).format(w=_pick(rng, pool), v=_pick(rng, pool))
            line += ", " + phrase
        lines.append(line[0].upper() + line[1:])
    return "\n".join(lines) + "\n"


def cover_image(rng: np.random.Generator, mood: str):
    """A ``COVER_SIZE``² RGB image: a gradient between two colours of the mood's palette, discs,
    and stripes whose density grows with the mood's texture level."""
    from PIL import Image

    (h0, h1), (s0, s1), (v0, v1), texture = _PALETTES[mood]
    size = COVER_SIZE

    def colour() -> np.ndarray:
        hue = (rng.uniform(h0, h1) % 360) / 360
        return np.array([hue, rng.uniform(s0, s1), rng.uniform(v0, v1)])

    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.clip(0.5 + (xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle), 0, 1)[..., None]
    a, b = colour(), colour()
    hsv = a * (1 - ramp) + b * ramp
    for _ in range(int(rng.integers(2, 6))):  # discs
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.08, 0.3)
        hsv[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = colour()
    if texture > 0:  # stripes: the angrier, the denser and darker
        period = rng.uniform(3, 6) / texture
        phase = (xx * np.cos(angle * 3) + yy * np.sin(angle * 3)) * size / period
        stripes = (np.sin(2 * np.pi * phase) > 0.6)
        hsv[stripes, 2] *= 1 - 0.8 * texture
    hsv[..., 2] = np.clip(hsv[..., 2] + rng.normal(0, 0.02, (size, size)), 0, 1)
    pixels = np.rint(hsv * 255).astype(np.uint8)
    return Image.fromarray(pixels, "HSV").convert("RGB")


def synth_audio(rng: np.random.Generator, genre: str, tempo: float) -> np.ndarray:
    """``AUDIO_SECONDS`` of mono float32 audio: a melody with the genre's timbre (harmonic
    roll-off, distortion), drums on the beat at ``tempo`` BPM, and the genre's noise floor."""
    f0, rolloff, _, drums, noise, drive = GENRE_SOUND[genre]
    n = int(AUDIO_RATE * AUDIO_SECONDS)
    t = np.arange(n) / AUDIO_RATE
    beat = 60.0 / tempo
    scale = np.array([0, 2, 4, 7, 9, 12])
    note_index = (t / beat).astype(np.int64)
    steps = scale[rng.integers(0, len(scale), note_index.max() + 1)][note_index]
    freq = f0 * 2.0 ** (steps / 12)
    phase = 2 * np.pi * np.cumsum(freq) / AUDIO_RATE
    tone = sum(k ** -rolloff * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) for k in range(1, 9))
    if drive:
        tone = np.tanh(drive * tone) / np.tanh(drive)
    since_beat = t % beat
    kick = np.sin(2 * np.pi * 60 * since_beat) * np.exp(-since_beat / 0.06)
    since_half = (t + beat / 2) % beat
    hat = rng.normal(0, 1, n) * np.exp(-since_half / 0.02)
    signal = 0.6 * tone + drums * (0.8 * kick + 0.3 * hat) + noise * rng.normal(0, 1, n)
    return (0.8 * signal / np.abs(signal).max()).astype(np.float32)


def _write_audio(path: Path, samples: np.ndarray) -> None:
    """16-bit WAV, or MP3 (libsndfile's LAME encoder, deterministic) for a ``.mp3`` path."""
    import soundfile

    if path.suffix == ".mp3":
        soundfile.write(str(path), samples, AUDIO_RATE, format="MP3")
    else:
        soundfile.write(str(path), samples, AUDIO_RATE, subtype="PCM_16", format="WAV")


def _write_cover(path: Path, image) -> None:
    """PNG, or JPEG at ``JPEG_QUALITY`` for a ``.jpg`` path."""
    if path.suffix == ".jpg":
        image.save(path, format="JPEG", quality=JPEG_QUALITY)
    else:
        image.save(path, format="PNG")


def _write_releases(folder: Path, world: _World, catalog: dict[str, pd.DataFrame], seed: int,
                    n: int, media: bool, fmt: str, progress: bool) -> SampleCatalog:
    """Draw ``n`` :class:`_Releases` of ``world`` (whose tables are ``catalog``) and write them
    as a catalog folder."""
    rng = np.random.default_rng([seed, 0, RELEASES_STREAM])
    releases = _Releases.draw(rng, world, n)
    tables = releases.tables(rng, media, catalog)
    (folder / "ground_truth").mkdir(parents=True)
    for name, frame in tables.items():
        _write_table(frame, folder / name, fmt)
    _write_table(releases.truth(), folder / "ground_truth" / "tracks", fmt)
    summary = SampleCatalog(folder, {k: len(v) for k, v in tables.items()}, fmt=fmt)
    if media:
        summary.media_files = _write_media(folder, seed, tables["tracks"], releases.index,
                                           releases.genre, releases.mood, releases.tempo,
                                           progress, label="new releases")
    return summary


# -- helpers ------------------------------------------------------------------------------------

def _prepare(out: Path, overwrite: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise MmkgError(f"{out} is not empty: choose a new folder or pass --force")
        for child in out.iterdir():
            if child.name in ("media", "ground_truth", NEW_RELEASES):
                shutil.rmtree(child)
            elif child.suffix in (".csv", ".parquet") or child.name == "README.md":
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _write_table(frame: pd.DataFrame, stem: Path, fmt: str) -> None:
    if fmt == "parquet":
        frame.to_parquet(stem.with_suffix(".parquet"), index=False)
    else:
        frame.to_csv(stem.with_suffix(".csv"), index=False)


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{i}" for i in range(n)], dtype=object)


def _titles(rng: np.random.Generator, n: int) -> np.ndarray:
    adj = np.array(_TITLE_ADJ, dtype=object)[rng.integers(0, len(_TITLE_ADJ), n)]
    noun = np.array(_TITLE_NOUN, dtype=object)[rng.integers(0, len(_TITLE_NOUN), n)]
    return adj + " " + noun


def _plural(title: str) -> str:
    """A band name's plural of ``title``'s last noun: "Second City" → "Second Cities",
    "Wild Echo" → "Wild Echoes", "Paper Road" → "Paper Roads"."""
    if title.endswith("y"):
        return title[:-1] + "ies"
    return title + ("es" if title.endswith("o") else "s")


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(0, len(options)))]


def _readme(summary: SampleCatalog, seed: int, media: bool, skew: float) -> str:
    ext = "parquet" if summary.fmt == "parquet" else "csv"
    counts = "\n".join(f"| `{name}.{ext}` | {n:,} |" for name, n in summary.rows.items())
    media_text = (
        "`media/lyrics/<track>.txt` (UTF-8; none for tracks tagged *instrumental*), "
        f"`media/covers/<track>.png` ({COVER_SIZE}×{COVER_SIZE} RGB), "
        f"`media/audio/<track>.wav` ({AUDIO_SECONDS:g} s, {AUDIO_RATE} Hz, 16-bit mono); "
        "every third track (t2, t5, ...) has a JPEG cover and MP3 audio instead. "
        "The `tracks` columns `lyrics`, `cover`, `audio` hold these paths, relative to this folder."
        if media else "None (generated with `--no-media`).")
    prior = f", times a Zipf prior of exponent {skew:g}" if skew else ""
    return f"""# Synthetic mmkg sample catalog

Generated by `mmkg sample-catalog` (`mmkg/sample_catalog.py`) with seed {seed}. Load it with
`mmkg ingest <this folder> --format catalog`; the layout is the `catalog` format of
`docs/contracts.md`.

| table | rows |
|---|---|
{counts}

Triples link artists to `Entity` nodes `country_<k>` (`music.artist.origin`) and `label_<k>`
(`music.artist.label`), albums to `decade_<year>` (`music.album.release_decade`) and genres to
`genre_family_<name>` (`music.genre.parent_genre`). Interactions: `plays` (int), `rating`
(1–5 in halves), `ts` (epoch seconds).

Media: {media_text}

## What is planted
Each track has a genre (in the graph), a mood — happy, sad, angry, calm — shown only by its
lyrics' sentiment words and its cover's palette and texture, and a tempo heard only in its audio
(genre also sets the audio's timbre). Users' listening depends on genre, mood and tempo taste, track
popularity (long tail{prior}) and {NOISE:.0%} noise, so a model that sees the modalities can beat a
structure-only one. `ground_truth/tracks.{ext}` (genre, mood, tempo, popularity) and
`ground_truth/users.{ext}` (taste) hold the hidden truth; ingest does not read them.
{_releases_readme(summary.new_releases, ext)}"""


def _releases_readme(releases: SampleCatalog | None, ext: str) -> str:
    if releases is None:
        return ""
    n = releases.rows["tracks"]
    return f"""
## New releases
`{NEW_RELEASES}/` holds {n} tracks released after every listen above: by this catalog's artists,
on {releases.rows["albums"]} new album(s) of the 2020s, with media, tags and a hidden genre, mood
and tempo (`{NEW_RELEASES}/ground_truth/tracks.{ext}`), and no listens. It is a catalog folder of
its own, with the rows of this one's artists, genres and tags that it references. After training
and publishing on this catalog, `mmkg ingest {NEW_RELEASES}` then `mmkg publish RUN --new-tracks`
give them vectors and places in the listeners' top-K without retraining, and
`mmkg recommend USER --new` lists a listener's best tracks that nobody has played yet
(`make new-releases` does all of it on the demo).
"""
