"""Media guards (issue 10 items 3–5) and fresh features: paths stay inside the catalog, files
within size and pixel caps, features recomputed when their file changes; every format decodes."""

from __future__ import annotations

import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from mmkg.cli import cli
from mmkg.config import MediaSettings, load_settings
from mmkg.errors import ConfigError
from mmkg.ingest.features import check_media, extract
from mmkg.ingest.features import image as image_features
from mmkg.ingest.features.compute import compute_missing_features
from mmkg.ingest.features.media import check_stored_media, resolve_catalog_media
from mmkg.sample_catalog import AUDIO_RATE, cover_image, generate_sample_catalog, synth_audio
from tests.conftest import count

HOST_FILE = "/etc/hostname" if Path("/etc/hostname").is_file() else "/etc/passwd"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pristine") / "cat"
    generate_sample_catalog(root, tracks=12, users=4, seed=1)
    return root


@pytest.fixture
def cat(pristine, tmp_path) -> Path:
    """A fresh copy of the small sample catalog (t0 has lyrics, a PNG cover and WAV audio)."""
    root = tmp_path / "cat"
    shutil.copytree(pristine, root, symlinks=True)
    return root


def _set_cell(root: Path, track: str, column: str, value: str) -> None:
    tracks = pd.read_csv(root / "tracks.csv", dtype=str, keep_default_na=False)
    tracks.loc[tracks["id"] == track, column] = value
    tracks.to_csv(root / "tracks.csv", index=False)


def _ingest(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, ["ingest", *args], env=env)


def _one_line_error(result, *parts: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for part in parts:
        assert part in lines[0], lines[0]


def _png_claiming(path: Path, width: int, height: int) -> None:
    """A tiny valid PNG whose header claims ``width``×``height`` pixels."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR width, height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))


# -- item 3: media paths stay inside the catalog -------------------------------------------------

@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink", "symlink-loop"])
def test_media_paths_leading_out_of_the_catalog_are_refused_in_one_line(cat, how,
                                                                        empty_db, database):
    lyrics = cat / "media/lyrics/t0.txt"
    if how == "dotdot":
        _set_cell(cat, "t0", "lyrics", os.path.relpath(HOST_FILE, cat))
        expected = f"resolves to {HOST_FILE}, outside the catalog folder"
    elif how == "absolute":
        _set_cell(cat, "t0", "lyrics", HOST_FILE)
        expected = f"resolves to {HOST_FILE}, outside the catalog folder"
    elif how == "symlink":
        lyrics.unlink()
        lyrics.symlink_to(HOST_FILE)
        expected = f"resolves to {HOST_FILE}, outside the catalog folder"
    else:
        lyrics.unlink()
        lyrics.symlink_to(lyrics.name)
        expected = "a symlink loop"

    result = _ingest(str(cat))
    _one_line_error(result, "tracks.csv:2:lyrics:", expected, "nothing was written")
    assert count(empty_db, database, "MATCH (t:Track) RETURN count(t) AS n") == 0

    skipped = _ingest(str(cat), "--skip-invalid", "--no-features",
                      "--reject-report", str(cat.parent / "rejects.csv"))
    assert skipped.exit_code == 0, skipped.output
    records, _, _ = empty_db.execute_query(
        "MATCH (t:Track) WHERE t.lyrics IS NOT NULL RETURN t.id AS id, t.lyrics AS lyrics",
        database_=database)
    assert records and "t0" not in {r["id"] for r in records}
    assert all((cat / r["lyrics"]).resolve().is_relative_to(cat.resolve()) for r in records)


def test_a_symlink_inside_the_catalog_is_followed(cat):
    lyrics = cat / "media/lyrics/t0.txt"
    shutil.move(lyrics, cat / "t0-lyrics.txt")
    lyrics.symlink_to(Path("../../t0-lyrics.txt"))
    real, problem = resolve_catalog_media("lyrics", cat, "media/lyrics/t0.txt")
    assert problem is None and real == (cat / "t0-lyrics.txt").resolve()


def test_the_media_root_setting_allows_one_other_folder(cat, tmp_path):
    elsewhere = tmp_path / "shared-media"
    elsewhere.mkdir()
    shutil.move(cat / "media/lyrics/t0.txt", elsewhere / "t0.txt")
    _set_cell(cat, "t0", "lyrics", str(elsewhere / "t0.txt"))

    _one_line_error(_ingest(str(cat), "--dry-run"), "tracks.csv:2:lyrics:", "outside")
    allowed = _ingest(str(cat), "--dry-run", env={"MMKG_MEDIA_ROOT": str(elsewhere)})
    assert allowed.exit_code == 0, allowed.output
    _, problem = resolve_catalog_media("lyrics", cat, HOST_FILE, MediaSettings(root=elsewhere))
    assert "outside the catalog folder" in problem and str(elsewhere) in problem


# -- item 5: size caps, pixel caps ---------------------------------------------------------------

def test_oversized_lyrics_are_refused_before_they_are_read(cat):
    big = cat / "media/lyrics/t0.txt"
    with big.open("a") as handle:
        handle.write("la " * 400_000)  # 1.2 MB, over the default 1 MiB
    _one_line_error(_ingest(str(cat), "--dry-run"), "tracks.csv:2:lyrics:", str(big.resolve()),
                    "more than the 1,048,576 allowed (media.max_lyrics_bytes)")
    allowed = _ingest(str(cat), "--dry-run", env={"MMKG_MEDIA_MAX_LYRICS_BYTES": "2000000"})
    assert allowed.exit_code == 0, allowed.output


@pytest.mark.parametrize("width, height", [(30_000, 30_000), (7_000, 7_000)])
def test_covers_claiming_too_many_pixels_are_refused_in_one_line(cat, width, height):
    _png_claiming(cat / "media/covers/t0.png", width, height)
    _one_line_error(_ingest(str(cat), "--dry-run"), "tracks.csv:2:cover:",
                    f"{width * height:,} pixels",
                    "more than the 40,000,000 allowed (media.max_cover_pixels)")


def test_audio_and_cover_caps_come_from_the_settings(cat):
    settings = MediaSettings(max_audio_bytes=1000, max_cover_pixels=100)
    audio, problem = resolve_catalog_media("audio", cat, "media/audio/t0.wav", settings)
    assert audio is None and "(media.max_audio_bytes)" in problem
    assert "(media.max_cover_pixels)" in check_media("cover", cat / "media/covers/t0.png", settings)
    with pytest.raises(ValueError, match="media.max_cover_pixels"):
        image_features.describe(cat / "media/covers/t0.png", settings)


def test_stored_paths_must_still_be_real_files_within_the_caps(cat, tmp_path):
    lyrics = (cat / "media/lyrics/t0.txt").resolve()
    assert check_stored_media("lyrics", lyrics) is None
    link = tmp_path / "link.txt"
    link.symlink_to(lyrics)
    assert "not the real path" in check_stored_media("lyrics", link)
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop.name)
    assert "symlink loop" in check_stored_media("lyrics", loop)
    tiny = MediaSettings(max_lyrics_bytes=10)
    assert "max_lyrics_bytes" in check_stored_media("lyrics", lyrics, tiny)


# -- item 4: stale features are recomputed -------------------------------------------------------

def _written(name: str, n: int) -> str:
    """The line ``mmkg features`` prints for ``n`` vectors of feature ``name``."""
    return f"{name:<16} {n:>8,} vectors written"


def _vector(driver, database, feature: str) -> list[float]:
    records, _, _ = driver.execute_query("MATCH (f:Feature {id: $id}) RETURN f.vector AS v",
                                         id=feature, database_=database)
    return records[0]["v"]


def test_features_follow_their_file_path_size_and_content(cat, empty_db, database):
    driver = empty_db
    assert _ingest(str(cat), "--no-features").exit_code == 0
    features = ["features", "--only", "lyrics", "--no-progress"]
    first = CliRunner().invoke(cli, features)
    assert first.exit_code == 0, first.output
    before = _vector(driver, database, "t0/lyrics_minilm")
    t1 = _vector(driver, database, "t1/lyrics_minilm")
    assert "nothing to compute" in CliRunner().invoke(cli, features).output

    # the path changes (re-ingest with t0 pointing at t1's lyrics): recomputed
    _set_cell(cat, "t0", "lyrics", "media/lyrics/t1.txt")
    assert _ingest(str(cat), "--no-features").exit_code == 0
    moved = CliRunner().invoke(cli, features)
    assert _written("lyrics_minilm", 1) in moved.output, moved.output
    assert np.allclose(_vector(driver, database, "t0/lyrics_minilm"), t1, atol=1e-5)
    assert not np.allclose(before, t1, atol=1e-3)

    # the content changes in place, same size: the new modification time makes it hash it
    lyrics = cat / "media/lyrics/t1.txt"
    text = lyrics.read_text()
    lyrics.write_text(text[::-1])  # same size, other content
    changed = CliRunner().invoke(cli, features)
    assert _written("lyrics_minilm", 2) in changed.output, changed.output

    # touched only (same content, new modification time): nothing to do; a new size: recomputed
    os.utime(lyrics, ns=(lyrics.stat().st_atime_ns, lyrics.stat().st_mtime_ns + 10**9))
    assert "nothing to compute" in CliRunner().invoke(cli, features).output
    lyrics.write_text(text + "and one more line of love\n")
    grown = CliRunner().invoke(cli, features)
    assert _written("lyrics_minilm", 2) in grown.output, grown.output

    # --recompute redoes everything; an old extractor version is recomputed too
    every = CliRunner().invoke(cli, [*features, "--recompute"])
    n = count(driver, database, "MATCH (t:Track) WHERE t.lyrics IS NOT NULL RETURN count(t) AS n")
    assert _written("lyrics_minilm", n) in every.output, every.output
    driver.execute_query("MATCH (f:Feature {name: 'lyrics_vader'}) WITH f LIMIT 1 "
                         "SET f.version = 'old'", database_=database)
    assert _written("lyrics_vader", 1) in CliRunner().invoke(cli, features).output
    records, _, _ = driver.execute_query(
        "MATCH (f:Feature) WHERE f.source IS NOT NULL "
        "RETURN count(*) AS n, count(f.source_fingerprint) AS fingerprinted", database_=database)
    assert records[0]["n"] == records[0]["fingerprinted"] > 0


def test_a_file_swapped_for_a_symlink_after_ingest_is_skipped_and_kept(cat, empty_db, database):
    driver = empty_db
    assert _ingest(str(cat), "--no-features").exit_code == 0
    assert compute_missing_features(driver, database, only=["lyrics"], progress=False)
    before = _vector(driver, database, "t0/lyrics_minilm")
    lyrics = cat / "media/lyrics/t0.txt"
    lyrics.unlink()
    lyrics.symlink_to(HOST_FILE)
    counts = compute_missing_features(driver, database, only=["lyrics"], progress=False)
    assert counts == {"lyrics_minilm": 0, "lyrics_vader": 0} and counts.skipped == 1
    assert _vector(driver, database, "t0/lyrics_minilm") == before
    # the command's last line says so, not "nothing to compute" (a day-2 finding)
    again = CliRunner().invoke(cli, ["features", "--only", "lyrics", "--no-progress"])
    assert again.exit_code == 0, again.output
    assert again.output.strip().splitlines()[-1] == (
        "1 media file(s) skipped (see above): their features are still missing or stale")


def test_worker_processes_compute_what_one_process_computes(cat, empty_db, database):
    driver = empty_db
    assert _ingest(str(cat), "--no-features").exit_code == 0
    kinds = ["lyrics", "cover"]
    one = compute_missing_features(driver, database, only=kinds, workers=1, progress=False)
    vectors = {r["id"]: r["v"] for r in driver.execute_query(
        "MATCH (f:Feature) RETURN f.id AS id, f.vector AS v", database_=database).records}
    two = compute_missing_features(driver, database, only=kinds, workers=2, batch_size=2,
                                   recompute=True, progress=False)
    assert one == two and one["cover_color"] == 12
    again = {r["id"]: r["v"] for r in driver.execute_query(
        "MATCH (f:Feature) RETURN f.id AS id, f.vector AS v", database_=database).records}
    assert again.keys() == vectors.keys()
    for key, vector in vectors.items():
        assert np.allclose(again[key], vector, atol=1e-5), key


# -- formats -------------------------------------------------------------------------------------

def test_mp3_ogg_flac_and_wav_decode_to_nearly_the_same_audio_features(tmp_path):
    import soundfile

    rock = synth_audio(np.random.default_rng(0), "rock", 120.0)
    paths = []
    for fmt, ext in (("WAV", "wav"), ("FLAC", "flac"), ("OGG", "ogg"), ("MP3", "mp3")):
        path = tmp_path / f"rock.{ext}"
        soundfile.write(str(path), rock, AUDIO_RATE, format=fmt)
        assert check_media("audio", path) is None, ext
        paths.append(path)
    other = tmp_path / "classical.wav"
    classical = synth_audio(np.random.default_rng(0), "classical", 70.0)
    soundfile.write(str(other), classical, AUDIO_RATE)
    [features] = extract("audio", [*paths, other], ["wav", "flac", "ogg", "mp3", "other"])
    v = features.vectors
    assert np.allclose(v[1], v[0], rtol=1e-3, atol=1e-3)  # FLAC is lossless
    spread = np.linalg.norm(v[4] - v[0])
    for lossy in (2, 3):
        assert np.linalg.norm(v[lossy] - v[0]) < 0.25 * spread


def test_jpeg_and_png_covers_give_nearly_the_same_features(tmp_path):
    image = cover_image(np.random.default_rng(3), "happy").resize((600, 600))
    image.save(tmp_path / "c.png")
    image.save(tmp_path / "c.jpg", quality=90)
    cover_image(np.random.default_rng(3), "angry").save(tmp_path / "other.png")
    [features] = extract("cover", [tmp_path / n for n in ("c.png", "c.jpg", "other.png")],
                         ["png", "jpg", "other"])
    v = features.vectors
    assert np.linalg.norm(v[1] - v[0]) < 0.25 * np.linalg.norm(v[2] - v[0])


def test_audio_is_decoded_for_thirty_seconds_at_most(tmp_path):
    import soundfile

    path = tmp_path / "long.flac"
    two_minutes = np.tile(synth_audio(np.random.default_rng(1), "pop", 100.0), 40)
    soundfile.write(str(path), two_minutes, AUDIO_RATE, format="FLAC")
    [features] = extract("audio", [path], ["long"])
    assert features.vectors[0, 78] == pytest.approx(1.0)  # 30 s used of a 120 s file


def test_media_settings_come_from_the_environment_and_toml(tmp_path, monkeypatch):
    monkeypatch.setenv("MMKG_MEDIA_MAX_COVER_PIXELS", "123")
    monkeypatch.setenv("MMKG_MEDIA_ROOT", str(tmp_path))
    settings = load_settings()
    assert settings.media.max_cover_pixels == 123 and settings.media.root == tmp_path
    assert settings.media.max_bytes("lyrics") == 1 << 20
    typo = tmp_path / "mmkg.toml"
    typo.write_text("[media]\nmax_lyric_bytes = 5\nmax_cover_pixels = 7\n")
    with pytest.raises(ConfigError, match=r"^invalid settings in .*mmkg.toml: media.max_lyric_bytes: unknown key"):
        load_settings(typo)
    typo.write_text("[media]\nmax_cover_pixels = 7\nmax_audio_bytes = 9\n")       # the environment wins
    assert (load_settings(typo).media.max_cover_pixels, load_settings(typo).media.max_audio_bytes) == (123, 9)
    monkeypatch.setenv("MMKG_MEDIA_MAX_LYRIC_BYTES", "5")
    with pytest.raises(ConfigError, match=r"^invalid settings in .*: media.max_lyric_bytes: unknown key"):
        load_settings(typo)
    with pytest.raises(ValueError, match="media.max_video_bytes"):
        MediaSettings().max_bytes("video")
