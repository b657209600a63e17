"""RunFolder: what it writes is what it reads, the export it records follows the folder, and
nothing but tensors and plain data is ever unpickled."""

from __future__ import annotations

import json

import pytest
import torch

from mmkg.errors import RunFolderError
from mmkg.train.run_folder import Embeddings, RunFolder


def test_model_records_its_export_relative_to_the_folder_when_inside_it(tmp_path):
    run = RunFolder(tmp_path / "run")
    (tmp_path / "run" / "export").mkdir(parents=True)
    (tmp_path / "run" / "export" / "manifest.json").write_text(json.dumps({"seed": 7}))
    run.save_model({"w": torch.ones(2)}, config={"lr": 0.1, "model": {"dim": 4}},
                   export=tmp_path / "run" / "export", epoch=3)
    assert torch.load(run.file(RunFolder.MODEL), weights_only=True)["export"] == "export"

    moved = RunFolder((tmp_path / "run").rename(tmp_path / "moved"))
    saved = moved.load_model()
    assert saved.export == tmp_path / "moved" / "export" and saved.epoch == 3
    assert saved.config == {"lr": 0.1, "model": {"dim": 4}}
    assert moved.export_manifest() == {"seed": 7}


def test_missing_export_manifest_is_a_one_line_error(tmp_path):
    run = RunFolder(tmp_path)
    run.save_model({}, config={}, export=tmp_path / "gone", epoch=0)
    with pytest.raises(RunFolderError, match="has moved or gone"):
        run.export_manifest()
    run.save_model({}, config={}, export=None, epoch=0)
    with pytest.raises(RunFolderError, match="records no export folder"):
        run.export_manifest()


def test_an_export_given_for_the_recorded_one_must_be_split_and_drawn_alike(tmp_path):
    """``publish --export`` and ``eval --export`` stand a folder in for the recorded export: a
    copy passes (its manifest agrees), another split or graph is refused, and with the recorded
    export gone nothing can be compared."""
    manifest = {"format": 2, "split": {"protocol": "ratio", "ratios": [0.6, 0.2, 0.2]}, "seed": 0,
                "selection": {"all": True}, "counts": {"nodes": [["Track", 9]]}, "created_at": "then"}
    for name, changes in {"export": {}, "copy": {"created_at": "now"}, "split": {"seed": 1},
                          "graph": {"counts": {"nodes": [["Track", 8]]}}}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(json.dumps({**manifest, **changes}))
    run = RunFolder(tmp_path / "run")
    run.save_model({}, config={}, export=tmp_path / "export", epoch=1)
    assert run.export_manifest(tmp_path / "copy")["created_at"] == "now"
    with pytest.raises(RunFolderError, match=r"differs in seed \(split ratio 0.6:0.2:0.2, seed 0 then, "
                                             r"split ratio 0.6:0.2:0.2, seed 1 here\): its validation"):
        run.export_manifest(tmp_path / "split")
    with pytest.raises(RunFolderError, match="differs in counts: another graph than the one"):
        run.export_manifest(tmp_path / "graph")
    (tmp_path / "export" / "manifest.json").unlink()
    assert run.export_manifest(tmp_path / "split")["seed"] == 1


def test_embeddings_round_trip_and_are_checked(tmp_path):
    run = RunFolder(tmp_path)
    emb = Embeddings(["t1", "t2", "t3"], ["u1"], torch.randn(3, 2), torch.randn(1, 2),
                     torch.tensor([[2, 0, -1]]), torch.tensor([[0.9, 0.5, 0.0]]))
    run.save_embeddings(emb)
    back = run.load_embeddings()
    assert back.track_ids == emb.track_ids and torch.equal(back.topk_items, emb.topk_items)
    assert (back.dimension, back.k) == (2, 3)
    with pytest.raises(ValueError, match="user is"):
        run.save_embeddings(Embeddings(["t1"], ["u1"], torch.randn(1, 2), torch.randn(1, 3),
                                       torch.zeros(1, 1, dtype=torch.long), torch.zeros(1, 1)))


def test_checkpoint_is_atomic_and_optional(tmp_path):
    run = RunFolder(tmp_path / "run")
    assert run.load_checkpoint() is None
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.ones(2))])
    run.save_checkpoint({"model": {"w": torch.ones(2)}, "optimizer": optimizer.state_dict(),
                         "state": {"epoch": 1, "best_score": float("-inf"), "history": []}})
    assert run.load_checkpoint()["state"]["epoch"] == 1
    assert not list(run.path.glob("*.tmp"))


def test_pickled_objects_are_refused(tmp_path):
    run = RunFolder(tmp_path)
    torch.save({"state_dict": {}, "config": object(), "export": None, "epoch": 0},
               run.file(RunFolder.MODEL))
    with pytest.raises(RunFolderError, match="unreadable"):
        run.load_model()


def test_missing_folder_and_files_are_named(tmp_path):
    with pytest.raises(RunFolderError, match="no such run folder"):
        RunFolder(tmp_path / "nowhere").load_metrics()
    with pytest.raises(RunFolderError, match="no metrics.json"):
        RunFolder(tmp_path).load_metrics()
