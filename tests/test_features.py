"""Feature extractors on real synthesised media, media checks, resumable computation in Neo4j."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mmkg.ingest.features import check_media, extract, feature_specs
from mmkg.ingest.features.compute import compute_missing_features
from mmkg.ingest.features.registry import chosen_extractors
from mmkg.config import MEDIA
from mmkg.ingest.features import text as text_features
from mmkg.sample_catalog import cover_image, generate_sample_catalog, synth_audio
from mmkg.cli import cli
from mmkg.schema import Modality
from tests.conftest import count

N_TRACKS = 24


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    generate_sample_catalog(root, tracks=N_TRACKS, users=5, seed=7, media=True, overwrite=True)
    return root


def _media(catalog: Path, column: str) -> tuple[list[Path], list[str]]:
    tracks = pd.read_csv(catalog / "tracks.csv")
    tracks = tracks[tracks[column].notna()]
    return [catalog / p for p in tracks[column]], list(tracks["id"])


@pytest.mark.parametrize("kind", ["lyrics", "cover", "audio"])
def test_features_have_declared_dims_are_finite_and_distinct(catalog, kind):
    paths, ids = _media(catalog, kind)
    sets = extract(kind, paths, ids)
    specs = [e.spec for e in chosen_extractors(kind, MEDIA)]  # the default ones
    assert [fs.name for fs in sets] == [spec.name for spec in specs]
    for fs, spec in zip(sets, specs):
        assert fs.track_ids == ids
        assert fs.vectors.dtype == np.float32
        assert fs.vectors.shape == (len(ids), spec.dim) == (len(ids), fs.dim)
        assert np.isfinite(fs.vectors).all()
        assert (fs.kind, fs.extractor, fs.version) == (spec.kind, spec.extractor, spec.version)
        # the reference MKGCN bug: one vector for every item
        assert len(np.unique(fs.vectors, axis=0)) == len(ids), f"{fs.name}: repeated vectors"


def test_minilm_puts_paraphrases_closer_than_unrelated_text():
    v = text_features.embed([
        "I love you more than words can say, my darling",
        "My darling, words cannot say how much I love you",
        "Quarterly revenue fell because shipping costs went up",
    ])
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > 0.8
    assert v[0] @ v[1] > v[0] @ v[2] + 0.5


SENTENCES = [
    "I love you more than words can say, my darling",
    "Quarterly revenue fell because shipping costs went up",
    "we walk along the quiet road tonight\n" * 40 + "joy and sunshine, wonderful love\n" * 20,
    "Broken glass and empty streets, the rain keeps falling down on me",
]


def test_int8_onnx_minilm_agrees_with_the_torch_model():
    """The int8 ONNX model against sentence-transformers' float model of the same weights, with
    the same chunking (one chunk per text here but the third, which has two)."""
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(text_features.weights_folder()), device="cpu")
    onnx = text_features.embed(SENTENCES)
    for i, sentence in enumerate(SENTENCES):
        chunks = [text_features.load_tokenizer().decode(c) for c in text_features._chunks(sentence)]
        assert (len(chunks) > 1) == (i == 2)
        expected = reference.encode(chunks, normalize_embeddings=True).sum(axis=0)
        expected /= np.linalg.norm(expected)
        assert float(onnx[i] @ expected) >= 0.99, (i, float(onnx[i] @ expected))


def test_the_onnx_model_is_exported_once_into_the_home_folder(tmp_path, caplog):
    """... quietly: the quantiser logs dozens of INFO lines and a needless warning through the
    root logger, which a user's first ingest would show (the graph optimiser's INFO lines, on
    loggers of their own, are the CLI's filter's: tests/test_cli_errors.py)."""
    with caplog.at_level(logging.INFO):
        path = text_features.model_path(tmp_path)
    assert not [r.getMessage() for r in caplog.records if "quantization" in Path(r.pathname).parts]
    assert any("Fused Attention" in r.getMessage() for r in caplog.records)  # the log was on
    assert path.parent == tmp_path / "models" and path.suffix == ".onnx"
    stamp = path.stat().st_mtime_ns
    assert text_features.model_path(tmp_path) == path
    assert path.stat().st_mtime_ns == stamp  # the second call reuses it
    assert [p.name for p in (tmp_path / "models").iterdir() if p.suffix == ".onnx"] == [path.name]
    import onnx

    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"QAttention", "LayerNormalization"} <= ops  # quantised, fused, but (the slow
    assert "SkipLayerNormalization" not in ops          # kernel) not the residual layer norms
    session = text_features.open_session(path)
    assert np.allclose(text_features.embed(SENTENCES[:2], session=session),
                       text_features.embed(SENTENCES[:2]), atol=1e-5)


def test_minilm_reads_long_lyrics_past_the_first_chunk():
    # the first 256 word pieces are the same verse: a truncating encoder would see equal texts
    verse = "we walk along the quiet road tonight\n" * 40
    happy = text_features.embed([verse + "joy and sunshine, wonderful love\n" * 20])
    sad = text_features.embed([verse + "tears and sorrow, broken and lonely\n" * 20])
    assert float(happy[0] @ sad[0]) < 0.98


def test_vader_tells_positive_from_negative_lyrics(tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("I love this wonderful day\nSo happy, full of joy and smiles\n")
    bad.write_text("I hate this awful night\nBroken, lonely, crying in pain\n")
    _, sentiment = extract("lyrics", [good, bad], ["g", "b"])
    assert sentiment.kind == Modality.SENTIMENT and sentiment.dim == 8
    compound = sentiment.vectors[:, 3]
    pos_lines, neg_lines = sentiment.vectors[:, 6], sentiment.vectors[:, 7]
    assert compound[0] > 0.5 and compound[1] < -0.5
    assert pos_lines[0] == 1.0 and neg_lines[1] == 1.0


def test_windowed_vader_scores_exactly_like_vader():
    """Negations, idioms, boosters, "least", "but", capitals and one- to three-word texts: the
    windowed checks (see :class:`WindowedAnalyzer`) give VADER's own scores."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from mmkg.ingest.features.sentiment import WindowedAnalyzer

    words = ("love hate good bad happy sad not never without doubt so this no nor or very kind of "
             "sort extremely least at but LOVE GREAT fire dark cold heart isn't can't barely "
             "hardly ! ?").split() + [
        "kiss of death", "to die for", "cut the mustard", "hand to mouth", "the shit",
        "the bomb", "bad ass", "yeah right", "upper hand", "break a leg", "under the weather",
        "back handed", "blow smoke", "in the black", "kind of", "sort of", "never so good",
        "without doubt", "at least", "very least"]
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(words, size)) for size in [1, 2, 3, 4] * 50 + [60, 300] * 25]
    stock, windowed = SentimentIntensityAnalyzer(), WindowedAnalyzer()
    for text in texts:
        assert windowed.polarity_scores(text) == stock.polarity_scores(text), text


def test_zero_crossing_rate_is_librosas():
    """Tiny values (|y| ≤ 1e-10 count as 0), zeros of either sign and a real mix: the one-pass
    count of :mod:`~mmkg.ingest.features.audio` equals ``librosa.feature.zero_crossing_rate``."""
    import librosa

    from mmkg.ingest.features import audio

    rng = np.random.default_rng(0)
    signals = [
        np.array([-0.0, 0.0, -1e-11, 1e-11, -1e-9, 1e-9, -1e-10, 1e-10] * 400, dtype=np.float32),
        np.where(rng.random(30000) < 0.3, 0.0,
                 rng.normal(size=30000) * 10.0 ** rng.integers(-12, 0, 30000)).astype(np.float32),
        synth_audio(rng, "metal", 170.0)[:22050 * 3],
    ]
    for y in signals:
        expected = librosa.feature.zero_crossing_rate(y, frame_length=audio.N_FFT,
                                                      hop_length=audio.HOP)[0]
        assert np.array_equal(audio._zero_crossing_rate(y), expected)


def _edge_signals(rng: np.random.Generator, genre: str, tempo: float) -> list[np.ndarray]:
    """Mono float32 signals at the extractor's rate: 1 s of silence, a 2-s 440 Hz tone, 2 s of
    noise, 5 s of a synthesised ``genre`` track at ``tempo``, and one window's worth of noise."""
    from mmkg.ingest.features import audio

    t = np.arange(audio.SAMPLE_RATE * 2) / audio.SAMPLE_RATE
    return [np.zeros(audio.SAMPLE_RATE, dtype=np.float32),
            np.sin(2 * np.pi * 440 * t).astype(np.float32),
            rng.normal(size=audio.SAMPLE_RATE * 2).astype(np.float32),
            synth_audio(rng, genre, tempo)[:audio.SAMPLE_RATE * 5],
            rng.normal(size=audio.N_FFT).astype(np.float32)]


def test_spectral_contrast_is_librosas_to_the_last_bit():
    """Silence, a pure tone, noise, a synthesised track and a clip shorter than one window: the
    partitioned contrast of :mod:`~mmkg.ingest.features.audio` equals
    ``librosa.feature.spectral_contrast`` exactly (the descriptor's version stays)."""
    import librosa

    from mmkg.ingest.features import audio

    for y in _edge_signals(np.random.default_rng(1), "jazz", 96.0):
        stft = np.abs(librosa.stft(y, n_fft=audio.N_FFT, hop_length=audio.HOP)) * audio.LEVEL
        expected = librosa.feature.spectral_contrast(S=stft, sr=audio.SAMPLE_RATE)
        assert np.array_equal(audio._spectral_contrast(stft, audio.SAMPLE_RATE), expected)


def test_single_precision_stft_is_librosas():
    """Silence, a tone, noise, a synthesised track and one window's worth of samples: the
    scipy float32 STFT of :mod:`~mmkg.ingest.features.audio` has librosa's frames (centred, zero
    padded, periodic Hann) and its magnitudes to 1e-5 of the largest."""
    import librosa

    from mmkg.ingest.features import audio

    for y in _edge_signals(np.random.default_rng(2), "metal", 170.0):
        expected = np.abs(librosa.stft(y, n_fft=audio.N_FFT, hop_length=audio.HOP))
        got = audio._magnitude(y)
        assert got.shape == expected.shape and got.dtype == np.float32
        assert np.abs(got - expected).max() <= 1e-5 * max(expected.max(), 1.0)


def test_audio_features_separate_two_genres(tmp_path):
    import soundfile

    paths, labels = [], []
    for genre, tempo in (("classical", 72.0), ("metal", 170.0)):
        for i in range(4):
            path = tmp_path / f"{genre}{i}.wav"
            soundfile.write(str(path), synth_audio(np.random.default_rng(i), genre, tempo), 22050)
            paths.append(path)
            labels.append(genre)
    (audio,) = extract("audio", paths, [p.stem for p in paths])
    z = (audio.vectors - audio.vectors.mean(0)) / (audio.vectors.std(0) + 1e-6)
    dist = np.linalg.norm(z[:, None] - z[None], axis=-1)
    same = np.equal.outer(labels, labels) & ~np.eye(len(labels), dtype=bool)
    assert dist[same].max() < dist[~np.equal.outer(labels, labels)].min()


def test_audio_reads_one_window_past_the_intro_or_around_the_middle(tmp_path):
    """Sound only where the window should be, silence elsewhere: a 40-s file is read around its
    middle (12.5 s to 27.5 s), a 90-s file from 30 s on; reading from the start would see
    silence."""
    import soundfile

    from mmkg.ingest.features import audio

    rate = 22050
    paths = []
    for seconds, start in ((40, 12.5), (90, audio.OFFSET_SECONDS)):
        t = np.arange(seconds * rate) / rate
        inside = (t >= start) & (t < start + audio.MAX_SECONDS)
        path = tmp_path / f"{seconds}s.wav"
        soundfile.write(str(path), (0.3 * np.sin(2 * np.pi * 440 * t) * inside).astype(np.float32), rate)
        paths.append(path)
    (vectors,) = extract("audio", paths, [p.stem for p in paths])
    silent_share = vectors.vectors[:, 79]
    assert silent_share.max() < 0.02, silent_share
    assert np.allclose(vectors.vectors[:, 78], 1.0)  # a whole window read


def test_audio_summary_reads_a_planted_tempo_loudness_and_brightness(tmp_path):
    """A 120-BPM click track over a quiet hum (44.1 kHz stereo, resampled by the extractor), and a
    steady 2 kHz sine of amplitude 0.5 (RMS 0.354 = -9.0 dBFS)."""
    import soundfile

    from mmkg.ingest.features import audio

    rate = 44100
    t = np.arange(20 * rate) / rate
    since_beat = t % 0.5
    clicks = np.sin(2 * np.pi * 1500 * t) * np.exp(-since_beat / 0.01)
    track = 0.6 * clicks + 0.02 * np.sin(2 * np.pi * 220 * t)
    click_path, sine_path = tmp_path / "click.wav", tmp_path / "sine.wav"
    soundfile.write(str(click_path), np.stack([track, track], 1).astype(np.float32), rate)
    soundfile.write(str(sine_path), (0.5 * np.sin(2 * np.pi * 2000 * t)).astype(np.float32), rate)
    (vectors,) = extract("audio", [click_path, sine_path], ["click", "sine"])
    click, sine = (audio.summary(v) for v in vectors.vectors)
    assert abs(click["tempo_bpm"] - 120) <= 3, click
    assert abs(sine["loudness_db"] - (-9.0)) <= 0.5, sine
    assert abs(sine["brightness_khz"] - 2.0) <= 0.05, sine
    assert click["loudness_db"] < sine["loudness_db"]


def test_cover_summary_names_the_dominant_colour(tmp_path):
    from PIL import Image

    from mmkg.ingest.features import image

    expected = {}
    for name, colour in {"red": (255, 0, 0), "green": (30, 160, 60), "grey": (128, 128, 128)}.items():
        path = tmp_path / f"{name}.jpg"
        Image.new("RGB", (600, 600), colour).save(path, quality=95)
        expected[path] = colour
    two = np.zeros((300, 300, 3), np.uint8)
    two[:, :200], two[:, 200:] = (0, 0, 255), (255, 255, 0)  # two thirds blue
    Image.fromarray(two).save(tmp_path / "blue.png")
    expected[tmp_path / "blue.png"] = (0, 0, 255)
    (cover,) = extract("cover", list(expected), [p.stem for p in expected])
    for vector, colour in zip(cover.vectors, expected.values()):
        hex_colour = image.summary(vector)["dominant_colour"]
        found = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
        assert max(abs(a - b) for a, b in zip(found, colour)) <= 8, (hex_colour, colour)


def test_cover_features_follow_the_palette(tmp_path):
    paths = []
    for mood in ("happy", "sad"):
        path = tmp_path / f"{mood}.png"
        cover_image(np.random.default_rng(0), mood).save(path)
        paths.append(path)
    (cover,) = extract("cover", paths, ["happy", "sad"])
    value_mean, saturation_mean = cover.vectors[:, 28], cover.vectors[:, 26]
    assert value_mean[0] > value_mean[1] + 0.3
    assert saturation_mean[0] > saturation_mean[1]
    assert np.isclose(cover.vectors[:, 12:16].sum(axis=1), 1.0).all()


def test_modalities_reveal_the_mood_the_graph_hides(catalog):
    """The sample catalog plants mood only in covers and lyrics: the features must recover it."""
    import pandas as pd

    mood = pd.read_csv(catalog / "ground_truth" / "tracks.csv").set_index("track_id")["mood"]
    paths, ids = _media(catalog, "cover")
    (cover,) = extract("cover", paths, ids)
    x = (cover.vectors - cover.vectors.mean(0)) / (cover.vectors.std(0) + 1e-6)
    y = mood.loc[ids].to_numpy()
    hits = 0
    for i in range(len(ids)):  # leave-one-out nearest centroid
        rest = np.arange(len(ids)) != i
        labels = np.unique(y[rest])
        centroids = np.stack([x[rest & (y == m)].mean(0) for m in labels])
        hits += labels[np.argmin(((centroids - x[i]) ** 2).sum(1))] == y[i]
    assert hits / len(ids) >= 0.75

    paths, ids = _media(catalog, "lyrics")
    _, sentiment = extract("lyrics", paths, ids)
    compound = pd.Series(sentiment.vectors[:, 3], index=mood.loc[ids].to_numpy())
    assert compound[["happy", "calm"]].mean() > 0.5 > -0.5 > compound[["sad", "angry"]].mean()


def test_check_media_accepts_good_files_and_names_what_is_wrong(catalog, tmp_path):
    for kind in ("lyrics", "cover", "audio"):
        paths, _ = _media(catalog, kind)
        assert check_media(kind, paths[0]) is None

    wav = (_media(catalog, "audio")[0][0]).read_bytes()
    half = tmp_path / "half.wav"
    half.write_bytes(wav[: len(wav) // 2])
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(wav[:30])
    for path in (half, header_only):
        message = check_media("audio", path)
        assert message and message.startswith("expected a readable audio file"), message
    noise_mp3, empty = tmp_path / "noise.mp3", tmp_path / "empty.wav"
    noise_mp3.write_bytes(np.random.default_rng(0).bytes(3000))
    empty.write_bytes(b"")
    assert check_media("audio", noise_mp3) == (  # not libsndfile's "File does not exist ..."
        "expected a readable audio file (MP3/OGG/FLAC/WAV): no MP3, OGG, FLAC or WAV data that "
        "libsndfile decodes")
    assert check_media("audio", empty) == "expected a readable audio file (MP3/OGG/FLAC/WAV): the file is empty"

    fake_png = tmp_path / "cover.png"
    fake_png.write_text("this is not an image")
    assert check_media("cover", fake_png).startswith("expected a readable image file")
    png = (_media(catalog, "cover")[0][0]).read_bytes()
    cut_png = tmp_path / "cut.png"
    cut_png.write_bytes(png[: len(png) // 2])
    assert check_media("cover", cut_png) is not None

    latin1 = tmp_path / "lyrics.txt"
    latin1.write_bytes("caf\xe9 au lait".encode("latin-1"))
    assert check_media("lyrics", latin1) == (
        "expected a non-empty UTF-8 text file: invalid UTF-8 at byte 3")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    assert "empty" in check_media("lyrics", empty)
    assert "no such file" in check_media("audio", tmp_path / "missing.wav")
    with pytest.raises(ValueError, match="^unknown media kind 'video'; expected one of lyrics, cover, audio$"):
        check_media("video", half)


def test_extract_rejects_bad_arguments(catalog):
    paths, ids = _media(catalog, "cover")
    with pytest.raises(ValueError, match=f"^{len(paths)} paths for {len(paths) - 1} track ids$"):
        extract("cover", paths, ids[:-1])
    with pytest.raises(ValueError, match="^unknown media kind 'video'; expected one of lyrics, cover, audio$"):
        extract("video", paths, ids)


@pytest.mark.usefixtures("uri_scheme")
def test_compute_missing_features_is_resumable(empty_db, database, catalog, tmp_path, capsys):
    driver = empty_db
    broken = tmp_path / "broken.wav"
    broken.write_bytes(_media(catalog, "audio")[0][0].read_bytes()[:1000])
    tracks = pd.read_csv(catalog / "tracks.csv").dropna(subset=["lyrics"]).head(3)
    rows = [{"id": t.id, **{kind: str((catalog / getattr(t, kind)).resolve())
                            for kind in ("lyrics", "cover", "audio")}}
            for t in tracks.itertuples()]
    rows.append({"id": "broken", "audio": str(broken)})
    rows.append({"id": "bare"})
    driver.execute_query("UNWIND $rows AS row CREATE (t:Track) SET t = row",
                         rows=rows, database_=database)

    counts = compute_missing_features(driver, database, batch_size=2, progress=False)
    assert counts == {"lyrics_minilm": 3, "lyrics_vader": 3, "cover_color": 3, "audio_librosa": 3}
    records, _, _ = driver.execute_query(
        "MATCH (t:Track)-[:HAS_FEATURE]->(f:Feature) "
        "RETURN t.id AS track, f.id AS id, f.name AS name, f.dim AS dim, size(f.vector) AS n, "
        "f.extractor AS extractor, f.version AS version, labels(f) AS labels",
        database_=database)
    assert len(records) == 12
    specs = {spec.name: spec for specs in feature_specs().values() for spec in specs}
    for r in records:
        spec = specs[r["name"]]
        assert r["id"] == f"{r['track']}/{r['name']}"
        assert r["dim"] == r["n"] == spec.dim
        assert (r["extractor"], r["version"]) == (spec.extractor, spec.version)
        assert sorted(r["labels"]) == sorted(["Feature", spec.kind.value])

    summaries, _, _ = driver.execute_query(
        "MATCH (f:Feature) RETURN f.name AS name, f.tempo_bpm AS tempo, f.loudness_db AS db, "
        "f.brightness_khz AS khz, f.sentiment_compound AS compound, "
        "f.dominant_colour AS colour", database_=database)
    by_name = {}
    for r in summaries:
        by_name.setdefault(r["name"], []).append(r)
    for r in by_name["audio_librosa"]:
        assert 30 <= r["tempo"] <= 320 and -80 < r["db"] < 0 and 0 < r["khz"] < 11, r
    for r in by_name["lyrics_vader"]:
        assert -1 <= r["compound"] <= 1, r
    for r in by_name["cover_color"]:
        assert re.fullmatch(r"#[0-9a-f]{6}", r["colour"]), r
    assert all(r["tempo"] is None and r["colour"] is None for r in by_name["lyrics_minilm"])

    capsys.readouterr()
    again = compute_missing_features(driver, database, progress=True)
    assert again == {name: 0 for name in counts}
    bars = capsys.readouterr().err  # a bar for the kinds with work only: audio retries "broken"
    assert "audio" in bars and "lyrics" not in bars and "cover" not in bars, bars

    driver.execute_query("MATCH (f:Feature {name: 'lyrics_vader'}) WITH f LIMIT 1 DETACH DELETE f",
                         database_=database)
    assert compute_missing_features(driver, database, only=["lyrics"], progress=False) == {
        "lyrics_minilm": 1, "lyrics_vader": 1}
    assert count(driver, database, "MATCH (f:Feature) RETURN count(f) AS n") == 12

    result = CliRunner().invoke(cli, ["features", "--only", "cover", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "nothing to compute" in result.output


@pytest.mark.usefixtures("empty_db")
def test_a_moved_catalog_keeps_its_features(driver, database, catalog, tmp_path):
    """Media paths are stored relative to the catalog, whose root is recorded once: after the
    folder moves, a re-ingest from the new place updates that root and recomputes nothing."""
    moved = tmp_path / "before" / catalog.name
    shutil.copytree(catalog, moved)
    ingest = ["ingest", "--format", "catalog"]
    first = CliRunner().invoke(cli, [*ingest, str(moved)])
    assert first.exit_code == 0, first.output
    n_vectors = count(driver, database, "MATCH (f:Feature) RETURN count(f) AS n")
    assert n_vectors > 0

    (tmp_path / "after").mkdir()
    after = shutil.move(moved, tmp_path / "after" / catalog.name)
    again = CliRunner().invoke(cli, [*ingest, str(after)])
    assert again.exit_code == 0, again.output
    records, _, _ = driver.execute_query(
        "MATCH (c:Catalog) RETURN c.id AS id, c.root AS root", database_=database)
    assert [(r["id"], r["root"]) for r in records] == [(catalog.name, str(Path(after).resolve()))]
    assert count(driver, database, "MATCH (t:Track) WHERE t.audio STARTS WITH '/' "
                                   "OR t.catalog <> $name RETURN count(t) AS n",
                 name=catalog.name) == 0
    assert count(driver, database, "MATCH (f:Feature) RETURN count(f) AS n") == n_vectors
    fresh = CliRunner().invoke(cli, ["features", "--no-progress"])
    assert fresh.exit_code == 0 and "nothing to compute" in fresh.output, fresh.output
    # and the files are read from where the catalog is now
    recomputed = CliRunner().invoke(cli, ["features", "--recompute", "--only", "cover",
                                          "--no-progress"])
    assert recomputed.exit_code == 0, recomputed.output
    assert "skipped" not in recomputed.output


def test_another_catalog_of_the_same_name_is_refused(empty_db, database, catalog, tmp_path):
    """A second folder of the same name (a second ``new_releases``) is another catalog, not the
    first one moved, while the first still exists: re-rooting would send every track of the
    first to this folder for its media. Refused in one line; nothing is written."""
    ingest = ["ingest", "--format", "catalog", "--no-features"]
    first, second = (tmp_path / side / catalog.name for side in ("one", "two"))
    shutil.copytree(catalog, first)
    shutil.copytree(catalog, second)
    assert CliRunner().invoke(cli, [*ingest, str(first)]).exit_code == 0
    (second / "tracks.csv").write_text((second / "tracks.csv").read_text() + "t_new,Newer,,,,,,\n")
    before = count(empty_db, database, "MATCH (n) RETURN count(n) AS n")
    refused = CliRunner().invoke(cli, [*ingest, str(second)])
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines()[-1] == (
        f"Error: catalog {catalog.name!r} was ingested from {first.resolve()}, which still exists; "
        f"{second.resolve()} has the same folder name, and the tracks of both would read their "
        "media from here: rename this folder (a catalog is named after its folder), or, if the "
        "catalog moved, move the old folder away first; nothing was written")
    records, _, _ = empty_db.execute_query("MATCH (c:Catalog) RETURN c.root AS root", database_=database)
    assert [r["root"] for r in records] == [str(first.resolve())]
    assert count(empty_db, database, "MATCH (n) RETURN count(n) AS n") == before
    renamed = second.rename(second.with_name("month_two"))
    assert CliRunner().invoke(cli, [*ingest, str(renamed)]).exit_code == 0
    records, _, _ = empty_db.execute_query("MATCH (c:Catalog) RETURN c.id AS id ORDER BY id",
                                         database_=database)
    assert [r["id"] for r in records] == sorted([catalog.name, "month_two"])


def test_decoder_warnings_go_to_the_log_not_the_terminal(tmp_path, capfd, caplog):
    """Issue 21, finding 14: libmpg123 printed `Warning: Xing stream size off by more than 1%`
    straight to stderr while features were extracted from an MP3 with bytes after its last
    frame."""
    import logging

    import soundfile

    from mmkg.ingest.features.audio import load

    path = tmp_path / "padded.mp3"
    t = np.arange(22050 * 4) / 22050
    soundfile.write(path, 0.2 * np.sin(2 * np.pi * 440 * t), 22050, format="MP3")
    path.write_bytes(path.read_bytes() + bytes(3000))
    with caplog.at_level(logging.DEBUG, logger="mmkg.ingest.features.media"):
        assert load(path).shape == (22050 * 4,)
    assert capfd.readouterr().err == ""
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: the decoder said: Warning: Xing stream size off by more than 1%, fuzzy seeking "
        "may be even more fuzzy than by design!"]


def test_ingest_checks_of_a_broken_mp3_print_nothing_to_the_terminal(tmp_path, capfd, caplog):
    """libmpg123 printed `Note: Illegal Audio-MPEG-Header ...` and `Note: Trying to resync...`
    above ingest's one-line rejection of an MP3 of noise; they go to the debug log."""
    import logging

    path = tmp_path / "noise.mp3"
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    with caplog.at_level(logging.DEBUG, logger="mmkg.ingest.features.media"):
        assert check_media("audio", path).endswith("no MP3, OGG, FLAC or WAV data that libsndfile decodes")
    assert capfd.readouterr().err == ""
    assert any("Illegal Audio-MPEG-Header" in r.getMessage() for r in caplog.records)
