"""Measure feature extraction on realistic media: 30-second MP3 clips, 600×600 JPEG covers and
300-word lyrics.

    python bench/features.py --tracks 96 --workers 2 [--neo4j --yes]

1. writes ``--tracks`` tracks of such media into a temporary folder (``--unique`` distinct files
   of each kind, copied round-robin: decoding cost does not depend on which clip it is);
2. per registered extractor (MiniLM text, its static distillation, VADER sentiment, Pillow
   image, librosa audio), warm, in this process with one math thread: tracks/s of wall time and
   per CPU second (what one idle core gives; on a shared machine the CPU figure is the stable
   one); then, over the features ``--features`` chooses (default: the default four), which
   extractor dominates and the bound that gives on two idle cores;
3. those four together, checks and fingerprints included, on ``--workers`` worker processes
   (:func:`mmkg.ingest.features.jobs.run_jobs`, pool start-up included) and on one: tracks/s,
   and CPU seconds per track summed over the workers;
4. with ``--neo4j --yes``: the same end to end through Neo4j (``mmkg ingest --no-features`` of the
   folder, then ``compute_missing_features``) into the configured database, which it EMPTIES;
5. the quality guard: ``--save-vectors FILE.npz`` keeps every extractor's vectors of step 2 (and of
   ``--catalog DIR``'s media, a folder written by ``mmkg sample-catalog``); ``--reference
   FILE.npz`` compares them with vectors saved by another checkout (the previous recipes):
   per extractor the median and smallest cosine of new vs reference vectors, raw and with each
   set standardised, and on the catalog the share of each track's 10 nearest tracks kept
   (:func:`_compare`); the same lines for an opt-in recipe against the default feature of its
   media (``lyrics_static`` vs ``lyrics_minilm``), and with ``--catalog`` how often a track's
   10 nearest share its planted mood and genre (:func:`_planted_agreement`);
6. with ``--corpus DIR``, real text: a folder of fortune files (texts separated by lines holding
   ``%``, e.g. Debian's ``fortunes`` package, ``/usr/share/games/fortunes``): up to
   ``--corpus-texts`` texts of each file with at least that many, embedded by every lyrics
   extractor; the quality lines of each opt-in recipe against the default on them, and how often
   a text's 10 nearest texts come from its own file (a topic: ``songs-poems``, ``food``,
   ``science``, …; chance is one over the number of files) (:func:`_corpus_agreement`).

The static text recipe in place of MiniLM::

    python bench/features.py --tracks 384 --workers 2 \
        --features lyrics_static,lyrics_vader,cover_color,audio_librosa

Before/after on the same inputs and the same load: run this script from the old checkout's
environment with ``--save-vectors old.npz``, then from the new one with ``--reference old.npz``,
one right after the other (the inputs are deterministic)::

    (cd ../main && .venv/bin/python ../wt/bench/features.py --tracks 48 --save-vectors /tmp/old.npz)
    .venv/bin/python bench/features.py --tracks 48 --reference /tmp/old.npz

The lyrics recipes on real English text (songs, poems and sayings; ``apt-get install fortunes``)::

    python bench/features.py --tracks 16 --skip-pool --corpus /usr/share/games/fortunes

Prints the machine, the command and the load average first (this machine may be shared: compare
figures within one run only), then one JSON line per step; a profile line says which extractor
takes most of the time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mmkg.config import MEDIA, MediaSettings
from mmkg.ingest.features.jobs import Job, available_cpus, run_jobs
from mmkg.ingest.features.registry import MEDIA_KINDS, chosen_extractors, extractors
from mmkg.registry import UnknownName

CLIP_SECONDS, CLIP_RATE = 30.0, 44_100
COVER_SIDE = 600
LYRICS_WORDS = 300
_WORDS = ("love night fire heart cold rain dance sky road home light dark gold river summer "
          "city dream wild blue stone burn fall away again tonight forever slow hold").split()


def _emit(step: str, **fields) -> None:
    print(json.dumps({"step": step, **fields}), flush=True)


def write_media(folder: Path, tracks: int, unique: int) -> list[dict[str, str]]:
    """``tracks`` rows ``{id, lyrics, cover, audio}`` (paths relative to ``folder``)."""
    import soundfile
    from PIL import Image

    rng = np.random.default_rng(0)
    for sub in ("lyrics", "covers", "audio"):
        (folder / "media" / sub).mkdir(parents=True, exist_ok=True)
    originals = []
    t = np.arange(int(CLIP_SECONDS * CLIP_RATE)) / CLIP_RATE
    for k in range(unique):
        f0 = 110 * 2 ** (k / 5)
        beat = (t * (1.5 + 0.2 * k)) % 1.0
        tone = np.sin(2 * np.pi * f0 * t) + 0.4 * np.sin(4 * np.pi * f0 * t)
        stereo = np.stack([0.4 * tone + 0.3 * np.exp(-beat / 0.05) * rng.normal(size=t.size),
                           0.4 * tone + 0.05 * rng.normal(size=t.size)], axis=1)
        audio = folder / f"u{k}.mp3"
        soundfile.write(str(audio), (0.5 * stereo / np.abs(stereo).max()).astype(np.float32),
                        CLIP_RATE, format="MP3")
        yy, xx = np.mgrid[0:COVER_SIDE, 0:COVER_SIDE] / COVER_SIDE
        pixels = np.stack([np.sin(7 * xx + k), np.cos(5 * yy - k), np.sin(3 * (xx + yy) * k)], -1)
        pixels = (127 + 100 * pixels + rng.normal(0, 20, pixels.shape)).clip(0, 255)
        cover = folder / f"u{k}.jpg"
        Image.fromarray(pixels.astype(np.uint8)).save(cover, quality=90)
        lyrics = folder / f"u{k}.txt"
        words = rng.choice(_WORDS, LYRICS_WORDS)
        lyrics.write_text("\n".join(" ".join(words[i:i + 8]) for i in range(0, LYRICS_WORDS, 8)))
        originals.append((lyrics, cover, audio))
    rows = []
    for i in range(tracks):
        lyrics, cover, audio = originals[i % unique]
        row = {"id": f"t{i}", "lyrics": f"media/lyrics/t{i}.txt",
               "cover": f"media/covers/t{i}.jpg", "audio": f"media/audio/t{i}.mp3"}
        for source, column in ((lyrics, "lyrics"), (cover, "cover"), (audio, "audio")):
            shutil.copyfile(source, folder / row[column])
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=96)
    parser.add_argument("--unique", type=int, default=8, help="distinct files of each kind")
    parser.add_argument("--workers", type=int, default=available_cpus())
    parser.add_argument("--batch-size", type=int, default=16, help="tracks per job")
    parser.add_argument("--neo4j", action="store_true", help="also run end to end through Neo4j")
    parser.add_argument("--yes", action="store_true", help="allow emptying the database")
    parser.add_argument("--save-vectors", type=Path, help="write every extractor's vectors here")
    parser.add_argument("--reference", type=Path,
                        help="vectors saved by --save-vectors (another recipe) to compare with")
    parser.add_argument("--catalog", type=Path,
                        help="a sample catalog folder whose media also go into the vectors")
    parser.add_argument("--corpus", type=Path,
                        help="a folder of fortune files: real texts for the lyrics recipes")
    parser.add_argument("--corpus-texts", type=int, default=150,
                        help="texts drawn from each fortune file (files with fewer are left out)")
    parser.add_argument("--corpus-words", type=int, default=0,
                        help="join a file's consecutive texts into texts of at least this many words "
                             "(lyrics are long; a fortune is 17 words at the median)")
    parser.add_argument("--skip-pool", action="store_true",
                        help="skip step 3 (all four on the worker pool)")
    parser.add_argument("--features", type=lambda text: tuple(text.split(",")),
                        help="comma-separated feature names the profile and the pool compute "
                             "(the media.features setting; default: the default ones)")
    args = parser.parse_args()
    settings = MediaSettings(features=args.features)
    try:
        for kind in MEDIA_KINDS.names():
            chosen_extractors(kind, settings)
    except UnknownName as e:
        parser.error(str(e))
    if args.neo4j and not args.yes:
        parser.error("--neo4j empties the configured database: add --yes")
    logging.basicConfig(level=logging.WARNING)
    _emit("machine", platform=platform.platform(), python=platform.python_version(),
          cpus=available_cpus(), load_average=os.getloadavg(), command=" ".join(sys.argv),
          note="shared machine: other jobs may run on the same cores (see load_average); "
               "compare figures within one run only")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "catalog"
        started = time.perf_counter()
        rows = write_media(root, args.tracks, args.unique)
        _emit("media", tracks=args.tracks, audio="30 s MP3, 44.1 kHz stereo",
              cover=f"{COVER_SIDE}x{COVER_SIDE} JPEG", lyrics=f"{LYRICS_WORDS} words",
              mp3_bytes=(root / rows[0]["audio"]).stat().st_size,
              seconds=round(time.perf_counter() - started, 1))

        vectors: dict[str, np.ndarray] = {}
        measured = _per_extractor(root, rows, vectors)
        if args.catalog:
            vectors.update(_catalog_vectors(args.catalog))
            _planted_agreement(vectors, args.catalog)
        if args.corpus:
            vectors.update(_corpus_agreement(args.corpus, args.corpus_texts, args.corpus_words,
                                             Path(tmp) / "corpus"))
        if args.save_vectors:
            np.savez(args.save_vectors, **vectors)
        if args.reference:
            _compare(vectors, dict(np.load(args.reference)))
        _compare_recipes(vectors)
        per_extractor = {e.spec.name: measured[e.spec.name]
                         for kind in MEDIA_KINDS.names() for e in chosen_extractors(kind, settings)}
        slowest = min(per_extractor, key=per_extractor.get)
        one_core = 1 / sum(1 / rate for rate in per_extractor.values())
        _emit("profile",
              cpu_seconds_per_track={k: round(1 / v, 4) for k, v in per_extractor.items()},
              share={k: round((1 / v) / sum(1 / r for r in per_extractor.values()), 2)
                     for k, v in per_extractor.items()},
              dominant=slowest, all_four_tracks_per_cpu_s=round(one_core, 2),
              all_four_two_idle_cores_tracks_per_s_at_most=round(2 * one_core, 2))

        jobs = [Job(kind, [(r["id"], str((root / r[kind]).resolve()))
                           for r in rows[i:i + args.batch_size]])
                for i in range(0, len(rows), args.batch_size) for kind in MEDIA_KINDS.names()]
        for workers in [] if args.skip_pool else sorted({1, args.workers}):
            started = time.perf_counter()
            results = list(run_jobs(jobs, settings, workers))
            seconds = time.perf_counter() - started
            done = sum(r.tracks for r in results) / len(MEDIA_KINDS.names())
            cpu = sum(r.cpu_seconds for r in results)
            _emit("all four together", workers=workers, tracks=int(done),
                  seconds=round(seconds, 2), tracks_per_s=round(done / seconds, 2),
                  cpu_seconds_per_track=round(cpu / done, 4),
                  cpu_seconds_by_kind={k: round(sum(r.cpu_seconds for r in results
                                                    if r.kind == k) / done, 4)
                                       for k in MEDIA_KINDS.names()},
                  load_average=os.getloadavg())

        if args.neo4j:
            _through_neo4j(root, rows, args, settings)


def _per_extractor(root: Path, rows: list[dict[str, str]],
                   vectors: dict[str, np.ndarray]) -> dict[str, float]:
    """Warm tracks/s of each extractor alone, in this process, one math thread; each one's
    vectors go into ``vectors`` under ``bench/<feature name>``."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"  # what a worker of a 2-process pool on 2 CPUs gets
    rates: dict[str, float] = {}
    with threadpool_limits(1):
        for kind in MEDIA_KINDS.names():
            paths = [root / r[kind] for r in rows]
            for extractor in extractors(kind):
                started = time.perf_counter()
                extractor.compute(paths[:1], MEDIA)
                first = time.perf_counter() - started
                started, cpu = time.perf_counter(), time.process_time()
                vectors[f"bench/{extractor.spec.name}"] = extractor.compute(paths, MEDIA)
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu
                rates[extractor.spec.name] = len(paths) / cpu
                _emit("extractor", name=extractor.spec.name, kind=kind, tracks=len(paths),
                      first_call_seconds=round(first, 2), seconds=round(seconds, 2),
                      tracks_per_s=round(len(paths) / seconds, 2),
                      tracks_per_cpu_s=round(len(paths) / cpu, 2), threads=1)
    return rates


def _catalog_vectors(catalog: Path) -> dict[str, np.ndarray]:
    """Every extractor's vectors of the catalog's media files (tracks in ``tracks.csv`` order),
    under ``catalog/<feature name>``."""
    import pandas as pd

    tracks = pd.read_csv(catalog / "tracks.csv")
    out = {}
    for kind in MEDIA_KINDS.names():
        paths = [catalog / p for p in tracks[kind].dropna()] if kind in tracks else []
        for extractor in extractors(kind):
            if paths:
                out[f"catalog/{extractor.spec.name}"] = extractor.compute(paths, MEDIA)
    return out


def _planted_agreement(vectors: dict[str, np.ndarray], catalog: Path) -> None:
    """One ``planted`` line per feature of the catalog's media (a sample catalog, whose
    ``ground_truth/tracks.csv`` holds each track's planted mood and genre): the mean share of a
    track's 10 nearest tracks (cosine, standardised) with the same mood, and with the same genre
    (chance: about 1/4 and 1/8)."""
    import pandas as pd

    tracks = pd.read_csv(catalog / "tracks.csv")
    truth = pd.read_csv(catalog / "ground_truth" / "tracks.csv").set_index("track_id")
    for kind in MEDIA_KINDS.names():
        if kind not in tracks:
            continue
        planted = truth.loc[tracks.loc[tracks[kind].notna(), "id"]]
        for extractor in extractors(kind):
            x = vectors.get(f"catalog/{extractor.spec.name}")
            if x is None or len(x) < 50:
                continue
            _emit("planted", vectors=f"catalog/{extractor.spec.name}", tracks=len(x), **{
                f"same_{label}_among_10_nearest": _label_agreement(x, planted[label].to_numpy())
                for label in ("mood", "genre")})


def read_fortunes(folder: Path, per_file: int, words: int = 0, seed: int = 0) -> dict[str, list[str]]:
    """``per_file`` texts drawn (seeded) from each fortune file in ``folder`` that holds at least
    that many: the files that have a ``.dat`` index beside them (``strfile``'s), texts separated
    by lines that hold only ``%``, each stripped; empty texts are skipped. With ``words`` > 0,
    consecutive texts of a file are joined (by blank lines) until each holds at least that many
    words, and those joined texts are drawn (a file's last, shorter one is left out)."""
    rng = np.random.default_rng(seed)
    drawn = {}
    for index in sorted(folder.glob("*.dat")):
        source = index.with_suffix("")
        if not source.is_file():
            continue
        text = source.read_text(encoding="utf-8", errors="replace")
        texts = [t.strip() for t in re.split(r"^%[ \t]*$", text, flags=re.MULTILINE) if t.strip()]
        if words:
            texts = _joined(texts, words)
        if len(texts) >= per_file:
            drawn[source.name] = [texts[i] for i in sorted(rng.choice(len(texts), per_file, replace=False))]
    return drawn


def _joined(texts: list[str], words: int) -> list[str]:
    """Consecutive ``texts`` joined by blank lines into texts of at least ``words`` words."""
    out, part, count = [], [], 0
    for text in texts:
        part.append(text)
        count += len(text.split())
        if count >= words:
            out.append("\n\n".join(part))
            part, count = [], 0
    return out


def _corpus_agreement(folder: Path, per_file: int, words: int, scratch: Path) -> dict[str, np.ndarray]:
    """Every lyrics extractor's vectors of the texts :func:`read_fortunes` draws (under
    ``corpus/<feature name>``), and one ``corpus`` line per extractor: the mean share of a text's
    10 nearest texts (cosine, standardised) drawn from its own file."""
    drawn = read_fortunes(folder, per_file, words)
    if len(drawn) < 2:
        raise SystemExit(f"{folder}: expected at least two fortune files with {per_file} texts or more")
    scratch.mkdir(parents=True, exist_ok=True)
    paths, labels = [], []
    for name, texts in drawn.items():
        for i, text in enumerate(texts):
            path = scratch / f"{name}-{i}.txt"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
            labels.append(name)
    labels = np.array(labels)
    out = {}
    for extractor in extractors("lyrics"):
        started = time.process_time()
        x = out[f"corpus/{extractor.spec.name}"] = extractor.compute(paths, MEDIA)
        _emit("corpus", vectors=f"corpus/{extractor.spec.name}", texts=len(paths), files=len(drawn),
              median_words=int(np.median([len(t.split()) for ts in drawn.values() for t in ts])),
              same_file_among_10_nearest=_label_agreement(x, labels),
              chance=round(1 / len(drawn), 3), cpu_seconds=round(time.process_time() - started, 1))
    return out


def _compare_recipes(vectors: dict[str, np.ndarray]) -> None:
    """The quality lines of :func:`_compare` for each opt-in recipe (an extractor off by
    default, e.g. ``lyrics_static``) against the default feature of the same media and modality
    (``lyrics_minilm``), on the same inputs."""
    for kind in MEDIA_KINDS.names():
        found = extractors(kind)
        for alternative in (e for e in found if not e.default):
            for default in (e for e in found if e.default and e.spec.kind == alternative.spec.kind):
                for prefix in ("bench", "catalog", "corpus"):
                    new = vectors.get(f"{prefix}/{alternative.spec.name}")
                    old = vectors.get(f"{prefix}/{default.spec.name}")
                    if new is not None and old is not None:
                        key = f"{prefix}/{alternative.spec.name} vs {default.spec.name}"
                        _compare({key: new}, {key: old})


def _compare(vectors: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> None:
    """One ``quality`` line per vector set present in both (rows: the same tracks): the cosine of
    each new vector with the reference vector of its track, ``raw`` and ``standardised`` (each
    set's dimensions centred and scaled by that set's own mean and standard deviation, so a
    shift or rescaling of a dimension that every track shares does not count, and a few large
    dimensions, such as MFCC 1, do not hide the others); with ≥ 50 tracks also
    ``neighbours_kept``: the mean share of each track's 10 nearest tracks (cosine, standardised)
    that stay among its 10 nearest — what similar-track queries and the model's neighbourhoods
    see."""
    for key in sorted(set(vectors) & set(reference)):
        new, old = vectors[key].astype(np.float64), reference[key].astype(np.float64)
        figures: dict = {}
        for how, (a, b) in {"raw": (new, old),
                            "standardised": (_standardised(new), _standardised(old))}.items():
            cos = (_unit(a) * _unit(b)).sum(1)
            figures[how] = {"median": round(float(np.median(cos)), 4),
                            "min": round(float(cos.min()), 4)}
        if len(new) >= 50:
            figures["neighbours_kept"] = round(_neighbours_kept(_standardised(new),
                                                                _standardised(old)), 3)
        _emit("quality", vectors=key, tracks=len(new), cosine_vs_reference=figures)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _standardised(x: np.ndarray) -> np.ndarray:
    """Each dimension centred and divided by its standard deviation (constant ones: zero)."""
    std = x.std(axis=0)
    return np.where(std > 1e-9, (x - x.mean(axis=0)) / np.where(std > 1e-9, std, 1), 0.0)


def _label_agreement(x: np.ndarray, labels: np.ndarray) -> float:
    """The mean share of each row's 10 nearest rows (cosine, standardised) with its label."""
    near = _nearest(_standardised(x.astype(np.float64)))
    return round(float(np.mean(labels[near] == labels[:, None])), 3)


def _nearest(x: np.ndarray, k: int = 10) -> np.ndarray:
    """``[n, k]``: each row's ``k`` nearest other rows by cosine."""
    sim = _unit(x) @ _unit(x).T
    np.fill_diagonal(sim, -np.inf)
    return np.argsort(-sim, axis=1)[:, :k]


def _neighbours_kept(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    na, nb = _nearest(a, k), _nearest(b, k)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(na, nb)]))


def _through_neo4j(root: Path, rows: list[dict[str, str]], args,
                   settings: MediaSettings) -> None:
    import pandas as pd

    from mmkg.config import load_settings
    from mmkg.graph import connect
    from mmkg.graph.schema import apply_schema, reset_database
    from mmkg.ingest.features.compute import compute_missing_features
    from mmkg.ingest.pipeline import ingest

    pd.DataFrame([{**r, "title": r["id"]} for r in rows]).to_csv(root / "tracks.csv", index=False)
    settings = load_settings()
    driver = connect(settings)
    database = settings.neo4j.database
    reset_database(driver, database)
    apply_schema(driver, database)
    ingest(driver, database, root, features=False, progress=False)
    started = time.perf_counter()
    counts = compute_missing_features(driver, database, batch_size=args.batch_size,
                                      progress=False, workers=args.workers,
                                      settings=settings)
    seconds = time.perf_counter() - started
    _emit("features through Neo4j", workers=args.workers, vectors=counts,
          seconds=round(seconds, 2), tracks_per_s=round(len(rows) / seconds, 2),
          load_average=os.getloadavg())
    driver.close()


if __name__ == "__main__":
    main()
