"""``pip install .`` installs one namespace, ``mmkg``, with its queries and server files."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


SOURCES = ("pyproject.toml", "README.md", "mmkg", "ingest", "train", "publish", "cypher")
"""What the wheel is built from (copied, so that the build leaves nothing in the checkout)."""


def copy_sources(source: Path) -> None:
    """Copy :data:`SOURCES` into the new folder ``source``."""
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)


def test_a_wheel_installs_only_the_mmkg_namespace(tmp_path: Path):
    source, target = tmp_path / "src", tmp_path / "site"
    copy_sources(source)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-cache-dir", "--target", str(target), str(source)], check=True, cwd=tmp_path)
    top = {p.name for p in target.iterdir() if not p.name.endswith((".dist-info", ".egg-info"))} - {"bin"}
    assert top == {"mmkg"}, top                          # no `train`, no `ingest` (bin: the console script)
    pkg = target / "mmkg"
    assert (pkg / "train" / "model" / "mkgcn.py").is_file() and (pkg / "ingest" / "pipeline.py").is_file()
    assert (pkg / "cypher" / "recommend.cypher").is_file() and (pkg / "server" / "pom.xml").is_file()
    assert (pkg / "train" / "configs" / "demo.toml").is_file() and (pkg / "publish" / "writer.py").is_file()
    assert (pkg / "train" / "configs" / "models" / "mkgcn-paper.toml").is_file()
    probe = "import importlib.util as u; print(u.find_spec('train'), u.find_spec('ingest'))"
    out = subprocess.run([sys.executable, "-S", "-c", probe], env={"PYTHONPATH": str(target)},
                         capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert out.split() == ["None", "None"]


def test_make_demo_installs_no_browser_and_make_test_does():
    """`make demo` needs no browser: Chromium and its driver are `make test`'s alone (dry runs
    with the install steps forced, as on a fresh machine)."""
    def planned(target: str) -> str:
        return subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout

    assert "chromium" not in planned("demo")
    assert "apt-get install -y -qq chromium chromium-driver" in planned("test")


def test_make_new_releases_ingests_the_releases_the_demo_catalog_holds():
    """`make demo` trains on the tracks with a listen (`mmkg train`'s default) and places the
    others; `make new-releases` embeds and lists what its catalog wrote in new_releases/ (dry
    runs; the real runs are the targets themselves, BENCHMARKS.md)."""
    def planned(target: str) -> str:
        return subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout

    demo = planned("demo")
    for step in ("sample-catalog .mmkg/demo/catalog --tracks 300 --users 100 --seed 7 --new-releases 20",
                 "train --config train/configs/demo.toml --out .mmkg/demo/run --seed 7 --split-seed 7 --refit",
                 "publish .mmkg/demo/run --keep 0\n"):
        assert step in demo, step
    steps = planned("new-releases")
    for step in ("ingest .mmkg/demo/catalog/new_releases --format catalog",
                 "publish .mmkg/demo/run --new-tracks", "recommend u1 --k 5 --new --explain"):
        assert step in steps, step
