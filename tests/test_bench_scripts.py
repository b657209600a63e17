"""Each ``bench/`` script loads, its queries included, in a process of its own (no test imports
``bench/``: tests/test_layout.py): a benchmark that no longer starts is found by the suite, not
by the next person who measures."""

import subprocess
import sys

from tests.conftest import ROOT


def test_every_benchmark_imports():
    modules = sorted(f"bench.{p.stem}" for p in (ROOT / "bench").glob("*.py"))
    assert len(modules) > 10
    done = subprocess.run([sys.executable, "-c", "import " + ", ".join(modules)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_fortune_corpus_is_read_whole_and_joined(tmp_path):
    """``bench/features.py --corpus`` reads texts between ``%`` lines of the files that have a
    ``strfile`` index, draws ``per_file`` of each file with enough, and joins consecutive texts
    into longer ones when asked."""
    (tmp_path / "songs").write_text("%\none two\nthree\n%\nfour five six\n% \nseven\n%\n")
    (tmp_path / "songs.dat").write_bytes(b"")
    (tmp_path / "short").write_text("only one\n%\n")
    (tmp_path / "short.dat").write_bytes(b"")
    (tmp_path / "no-index").write_text("a\n%\nb\n%\nc\n%\n")
    script = (f"from pathlib import Path; from bench.features import read_fortunes as r; "
              f"f = Path({str(tmp_path)!r}); print(r(f, 3)); print(r(f, 1, words=4))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    whole, joined = done.stdout.splitlines()
    assert whole == str({"songs": ["one two\nthree", "four five six", "seven"]})
    assert joined == str({"songs": ["one two\nthree\n\nfour five six"]})  # "seven" alone is too short
