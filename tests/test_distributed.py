"""Data-parallel training (DDP, gloo over loopback): 2 workers match 1 worker at the same
effective batch, are deterministic, resume, and run from the CLI."""

import json
import os
import signal
import subprocess
import time
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.train.config import TrainConfig
from mmkg.train.data import TrainData
from mmkg.train.distributed import fit_workers
from mmkg.train.fit import fit
from mmkg.train.worker_group import WorkerGroup
from tests.synthetic_export import make_export

torch.set_num_threads(1)

EFFECTIVE_BATCH = 64
TOLERANCE = 0.005


def _config(**kw) -> TrainConfig:
    return TrainConfig.load(overrides={"epochs": 4, "lr": 0.01, "patience": 4, "seed": 5, "model.dim": 16,
                                       "neg_ratio": 32, **kw})


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return make_export().save(tmp_path_factory.mktemp("ddp") / "export")


@pytest.fixture(scope="module")
def data(export_dir) -> TrainData:
    from mmkg.export import ExportedGraph

    return TrainData.from_export(ExportedGraph.load(export_dir))


@pytest.fixture(scope="module")
def two_workers(data, export_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp") / "two"
    return fit_workers(export_dir, _config(batch_size=EFFECTIVE_BATCH // 2), out, 2, progress=False)


def test_two_workers_match_one_worker_at_the_same_effective_batch(data, two_workers, tmp_path):
    one = fit(data, _config(batch_size=EFFECTIVE_BATCH), tmp_path / "one", progress=False)
    assert two_workers["workers"] == 2 and one["workers"] == 1
    assert set(two_workers["valid"]) == set(one["valid"])
    for key, value in one["valid"].items():
        assert two_workers["valid"][key] == pytest.approx(value, abs=TOLERANCE), key
    assert two_workers["best_epoch"] == one["best_epoch"]
    losses = [h["loss"] for h in one["history"]]
    assert [h["loss"] for h in two_workers["history"]] == pytest.approx(losses, rel=1e-3)


def test_cli_workers_are_deterministic_and_resume(export_dir, two_workers, tmp_path):
    """`mmkg train --workers 2` for 2 epochs, then `--resume` to 4: the 4-epoch 2-worker run exactly."""
    runner = CliRunner()
    args = ["train", "--export", str(export_dir), "--out", str(tmp_path / "run"), "--workers", "2",
            "--seed", "5", "--set", "lr=0.01", "--set", "patience=4", "--set", "model.dim=16",
            "--set", "neg_ratio=32", "--set", f"batch_size={EFFECTIVE_BATCH // 2}", "--quiet"]
    first = runner.invoke(cli, [*args, "--set", "epochs=2"])
    assert first.exit_code == 0, first.output
    resumed = runner.invoke(cli, [*args, "--set", "epochs=4", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["workers"] == 2 and metrics["epochs_run"] == 4
    assert metrics["valid"] == two_workers["valid"] and metrics["test"] == two_workers["test"]


def test_torchrun_launches_the_same_training(export_dir, two_workers, tmp_path):
    """`torchrun --nproc-per-node 2 -m mmkg train --export DIR`: the same run as `--workers 2`."""
    torchrun = Path(sys.executable).with_name("torchrun")
    done = subprocess.run(
        [str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "mmkg", "train", "--export",
         str(export_dir), "--out", str(tmp_path / "run"), "--seed", "5", "--set", "lr=0.01", "--set", "epochs=4",
         "--set", "patience=4", "--set", "model.dim=16", "--set", "neg_ratio=32",
         "--set", f"batch_size={EFFECTIVE_BATCH // 2}", "--quiet"], capture_output=True, text=True, timeout=600, env=os.environ)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["workers"] == 2
    for key, value in two_workers["valid"].items():
        assert metrics["valid"][key] == pytest.approx(value, abs=TOLERANCE), key
    assert "find_unused_parameters" not in done.stderr  # torch's warning, once per worker


def test_under_torchrun_only_rank_0_reports_an_early_stop(export_dir, tmp_path):
    """Rank 1 logged `early stop after epoch 2 (best recall@20 -inf at epoch 0)`: it holds no
    validation scores. Now rank 0 alone says it."""
    torchrun = Path(sys.executable).with_name("torchrun")
    done = subprocess.run(
        [str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "mmkg", "train", "--export",
         str(export_dir), "--out", str(tmp_path / "run"), "--set", "lr=1e-9", "--set", "epochs=5",
         "--set", "patience=1", "--set", "model.dim=8", "--quiet"],
        capture_output=True, text=True, timeout=600, env=os.environ)
    assert done.returncode == 0, done.stderr[-2000:]
    stops = [line for line in done.stderr.splitlines() if "early stop" in line]
    assert len(stops) == 1 and "-inf" not in stops[0], done.stderr[-2000:]


def test_shards_are_disjoint_and_cover_the_batch():
    rows = torch.randperm(11, generator=torch.Generator().manual_seed(0))
    parts = [WorkerGroup(rank, 3).shard(rows) for rank in range(3)]
    assert sorted(torch.cat(parts).tolist()) == list(range(11))
    assert [len(p) for p in parts] == [4, 4, 3]
    assert sum(WorkerGroup(r, 3).loss_weight(len(p), 11) for r, p in enumerate(parts)) == pytest.approx(3)


def test_workers_die_with_a_killed_parent(export_dir, tmp_path):
    """`kill -9` of `mmkg train --workers 2` while its workers train: none outlives it by 5 s.

    Started as a shell script's background job is (`mmkg train ... &`: SIGINT ignored), where
    the SIGINT that torch's spawn asks for at a parent's death does nothing."""
    import psutil

    run = tmp_path / "run"
    train = subprocess.Popen(
        [sys.executable, "-m", "mmkg", "train", "--export", str(export_dir), "--out", str(run),
         "--workers", "2", "--set", "epochs=500", "--set", "patience=500", "--set", "model.dim=16", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    deadline = time.monotonic() + 300
    while not (run / "checkpoint.pt").exists():  # both workers met, and trained an epoch
        assert time.monotonic() < deadline and train.poll() is None, "training did not start"
        time.sleep(0.2)
    workers = [p for p in psutil.Process(train.pid).children(recursive=True)
               if "spawn_main" in " ".join(p.cmdline())]
    assert len(workers) == 2
    train.kill()
    train.wait()
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert [p.pid for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []


def test_more_workers_than_cpus_is_one_line(export_dir, tmp_path):
    result = CliRunner().invoke(cli, ["train", "--export", str(export_dir), "--out",
                                      str(tmp_path / "run"), "--workers", "200", "--quiet"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: --workers must be between 1 and {len(os.sched_getaffinity(0))} (one per CPU of "
        "this machine: each worker propagates over the whole graph), got 200"]
    assert not (tmp_path / "run").exists()
