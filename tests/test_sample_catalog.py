"""The synthetic catalog: determinism, integrity, ingest-compatibility and the planted taste."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mmkg.ingest.features import check_media
from mmkg.ingest.pipeline import read_dataset
from mmkg.sample_catalog import MOODS, generate_sample_catalog, _plural
from mmkg.cli import cli
from mmkg.errors import MmkgError


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _tables(root: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p) if p.suffix == ".csv" else pd.read_parquet(p)
            for p in root.iterdir() if p.suffix in (".csv", ".parquet")}


def _listened(root: Path) -> pd.DataFrame:
    """The interactions joined with the tracks' hidden truth (genre, mood, tempo, popularity)."""
    truth = pd.read_csv(root / "ground_truth" / "tracks.csv").set_index("track_id")
    return pd.read_csv(root / "interactions.csv").join(truth, on="track_id")


def _same_value_rate(listened: pd.DataFrame, column: str) -> tuple[float, float]:
    """P(two listens of one user share ``column``) vs. the same for two random listens."""
    per_user = listened.groupby(["user_id", column]).size()
    shares = per_user / per_user.groupby(level=0).transform("sum")
    within = float((shares ** 2).groupby(level=0).sum().mean())
    chance = float((listened[column].value_counts(normalize=True) ** 2).sum())
    return within, chance


def _top_decile_share(listened: pd.DataFrame, n_tracks: int) -> float:
    """Share of the interaction rows that go to the 10 % most listened tracks."""
    counts = listened["track_id"].value_counts()
    return counts.iloc[: n_tracks // 10].sum() / counts.sum()


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("small") / "catalog"
    result = CliRunner().invoke(cli, ["sample-catalog", str(root), "--tracks", "40", "--users", "8",
                                      "--seed", "5", "--interactions-per-user", "10"])
    assert result.exit_code == 0, result.output
    return root


def test_same_seed_gives_identical_files_and_another_seed_does_not(small, tmp_path):
    again = tmp_path / "again"
    generate_sample_catalog(again, tracks=40, users=8, seed=5, interactions_per_user=10)
    assert _digest(again) == _digest(small)
    other = tmp_path / "other"
    generate_sample_catalog(other, tracks=40, users=8, seed=6, interactions_per_user=10)
    a, b = _digest(small), _digest(other)
    for name in ("tracks.csv", "interactions.csv", "media/audio/t0.wav", "media/covers/t0.png"):
        assert a[name] != b[name], name


def test_parquet_tables_are_deterministic_too(tmp_path):
    for name in ("a", "b"):
        generate_sample_catalog(tmp_path / name, tracks=30, users=5, seed=1, media=False,
                                fmt="parquet")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert (tmp_path / "a" / "interactions.parquet").exists()


def test_media_files_exist_decode_and_catalog_passes_ingest_validation(small):
    tracks = pd.read_csv(small / "tracks.csv")
    for column in ("lyrics", "cover", "audio"):
        for rel in tracks[column].dropna():
            assert check_media(column, small / rel) is None, rel
    assert tracks["cover"].notna().all() and tracks["audio"].notna().all()
    lossy = tracks.index % 3 == 2  # t2, t5, ...: MP3 audio and a JPEG cover
    assert tracks.loc[lossy, "audio"].str.endswith(".mp3").all()
    assert tracks.loc[lossy, "cover"].str.endswith(".jpg").all()
    assert tracks.loc[~lossy, "audio"].str.endswith(".wav").all()
    assert tracks.loc[~lossy, "cover"].str.endswith(".png").all()
    assert (small / "README.md").read_text().startswith("# Synthetic mmkg sample catalog")
    _, validator = read_dataset(small, "catalog")
    assert not validator.problems, [str(p) for p in validator.problems[:5]]


def test_tables_are_consistent(tmp_path):
    root = tmp_path / "c"
    summary = generate_sample_catalog(root, tracks=200, users=50, seed=2, media=False)
    t = _tables(root)
    assert summary.rows == {name: len(frame) for name, frame in t.items()}
    assert len(t["tracks"]) == 200 and len(t["users"]) == 50
    assert not {"lyrics", "cover", "audio"} & set(t["tracks"].columns)
    for name in ("tracks", "artists", "albums", "users", "genres", "tags"):
        assert t[name]["id"].is_unique, name
    assert set(t["tracks"]["artist_id"]) <= set(t["artists"]["id"])
    assert set(t["tracks"]["album_id"]) <= set(t["albums"]["id"])
    assert set(t["tracks"]["genre_id"]) <= set(t["genres"]["id"])
    assert set(t["albums"]["artist_id"]) <= set(t["artists"]["id"])
    assert set(t["track_tags"]["tag_id"]) <= set(t["tags"]["id"])
    inter = t["interactions"]
    assert set(inter["user_id"]) == set(t["users"]["id"])
    assert set(inter["track_id"]) <= set(t["tracks"]["id"])
    assert not inter.duplicated(["user_id", "track_id"]).any()
    assert (inter["plays"] >= 1).all() and inter["rating"].between(1, 5).all()
    assert inter.groupby("user_id").size().min() >= 3
    triples = t["triples"]
    assert set(triples["relation"]) >= {"music.artist.origin", "music.album.release_decade"}
    origin = triples[triples["relation"] == "music.artist.origin"]
    assert set(origin["head"]) == set(t["artists"]["id"])
    assert origin["tail"].str.startswith("country_").all()
    hidden = {"mood", "tempo", "fast"}
    assert not any(hidden & set(frame.columns) for frame in t.values())


def test_listening_follows_mood_which_only_the_modalities_show(tmp_path):
    root = tmp_path / "taste"
    generate_sample_catalog(root, tracks=400, users=100, seed=3, media=False,
                            interactions_per_user=40)
    listened = _listened(root)
    truth = pd.read_csv(root / "ground_truth" / "tracks.csv").set_index("track_id")
    within, chance = _same_value_rate(listened, "mood")
    assert within > 1.5 * chance
    # mood is independent of what the graph shows (genre), so only the media can reveal it
    by_genre = pd.crosstab(truth["genre"], truth["mood"], normalize="index")
    assert set(truth["mood"]) == set(MOODS)
    assert (by_genre.max(axis=1) < 0.6).all()
    # and popularity is long-tailed
    assert _top_decile_share(listened, 400) > 0.3


SKEW0_DIGEST = "3b473234388ad4416528f35cc6cecec5590a2ac5207d91d459a1d745cdad9957"
"""sha256 over (path, sha256 of the bytes) of every data file of the tracks=60, users=12, seed=7,
no-media catalog, as written before ``popularity_skew`` existed (the README, which names the
generator's module, is left out), but for one band name: "The Copper Echoes", once "Echos"."""


def test_popularity_skew_zero_is_the_catalog_of_before(tmp_path):
    for skew_args in ({}, {"popularity_skew": 0.0}):
        root = tmp_path / str(len(skew_args))
        generate_sample_catalog(root, tracks=60, users=12, seed=7, media=False, **skew_args)
        digest = hashlib.sha256()
        for name, sha in _digest(root).items():
            if name == "README.md":
                continue
            digest.update(name.encode())
            digest.update(bytes.fromhex(sha))
        assert digest.hexdigest() == SKEW0_DIGEST


def test_popularity_skew_concentrates_listens_and_keeps_taste(tmp_path):
    listened = {}
    for skew in (0.0, 1.0):
        result = CliRunner().invoke(cli, ["sample-catalog", str(tmp_path / str(skew)), "--tracks", "1000",
                                          "--users", "300", "--no-media", "--popularity-skew", str(skew)])
        assert result.exit_code == 0, result.output
        listened[skew] = _listened(tmp_path / str(skew))
    flat, skewed = _top_decile_share(listened[0.0], 1000), _top_decile_share(listened[1.0], 1000)
    assert skewed > 0.5 and skewed > flat + 0.1
    # the hits take the listens, but each user's own taste still shows
    within, chance = _same_value_rate(listened[1.0], "mood")
    assert within > 1.5 * chance
    assert "Zipf prior of exponent 1" in (tmp_path / "1.0" / "README.md").read_text()
    with pytest.raises(MmkgError, match="skew"):
        generate_sample_catalog(tmp_path / "bad", tracks=10, users=1, popularity_skew=-1.0, media=False)


def test_refuses_to_write_into_a_non_empty_folder(small, tmp_path):
    with pytest.raises(MmkgError, match="not empty"):
        generate_sample_catalog(small, tracks=10, users=1, seed=0, media=False)
    target = tmp_path / "reuse"
    generate_sample_catalog(target, tracks=10, users=2, seed=0)
    generate_sample_catalog(target, tracks=12, users=2, seed=0, media=False, overwrite=True)
    assert not (target / "media").exists()
    assert len(pd.read_csv(target / "tracks.csv")) == 12
    assert np.array_equal(sorted(p.name for p in target.iterdir()),
                          sorted(["README.md", "ground_truth", *[f"{n}.csv" for n in (
                              "albums", "artists", "genres", "interactions", "tags",
                              "track_tags", "tracks", "triples", "users")]]))


def test_new_releases_are_a_catalog_of_their_own_beside_an_unchanged_catalog(small, tmp_path):
    root = tmp_path / "with-releases"
    result = CliRunner().invoke(cli, ["sample-catalog", str(root), "--tracks", "40", "--users", "8",
                                      "--seed", "5", "--interactions-per-user", "10",
                                      "--new-releases", "6"])
    assert result.exit_code == 0, result.output
    assert "6 new releases" in result.output
    main = {name: sha for name, sha in _digest(root).items()
            if not name.startswith("new_releases/") and name != "README.md"}
    assert main == {name: sha for name, sha in _digest(small).items() if name != "README.md"}

    releases = root / "new_releases"
    t, catalog = _tables(releases), _tables(root)
    assert list(t["tracks"]["id"]) == [f"t{i}" for i in range(40, 46)]
    assert "interactions" not in t and not set(t["tracks"]["id"]) & set(catalog["interactions"]["track_id"])
    assert not set(t["albums"]["id"]) & set(catalog["albums"]["id"])
    assert set(t["tracks"]["album_id"]) == set(t["albums"]["id"])
    for name in ("artists", "genres", "tags"):  # the referenced rows of the catalog, as they are there
        assert len(t[name]) and t[name].merge(catalog[name]).shape == t[name].shape, name
    assert set(t["triples"]["head"]) == set(t["albums"]["id"])
    truth = pd.read_csv(releases / "ground_truth" / "tracks.csv")
    assert list(truth["track_id"]) == list(t["tracks"]["id"]) and set(truth["mood"]) <= set(MOODS)
    for column in ("cover", "audio"):
        assert all(check_media(column, releases / rel) is None for rel in t["tracks"][column]), column
    _, validator = read_dataset(releases, "catalog")
    assert not validator.problems, [str(p) for p in validator.problems[:5]]
    assert "## New releases" in (root / "README.md").read_text()

    again = tmp_path / "again"
    generate_sample_catalog(again, tracks=40, users=8, seed=5, interactions_per_user=10,
                            new_releases=6)
    assert _digest(again) == _digest(root)
    generate_sample_catalog(again, tracks=40, users=8, seed=5, interactions_per_user=10,
                            overwrite=True)
    assert not (again / "new_releases").exists()


def test_band_names_are_english_plurals():
    assert [_plural(t) for t in ("Second City", "Copper Echo", "Paper Road")] == [
        "Second Cities", "Copper Echoes", "Paper Roads"]
