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
