"""Training reuses the memory of freed tensors (train/allocator.py): a 64 MB tensor freed and
made again (and again) costs no page faults inside ``keep_freed_memory``, one per 4 KiB page
outside it (glibc maps such a block afresh each time); the memory is given back on leaving;
training epochs run inside it unless ``keep_freed_memory = false``, with the same results.

Each check runs in a fresh Python process: what glibc keeps in its free lists once a block has
been left changes what the next allocation of that process costs."""

import json
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the allocator setting is glibc's")

PAGES = 64 * 2 ** 20 // 4096
PRELUDE = '''
import json, resource, sys
from pathlib import Path
import torch
from mmkg.train.allocator import keep_freed_memory
torch.set_num_threads(1)

def refaults(warm=12):
    """Page faults of making, touching and freeing a 64 MB tensor after ``warm`` others (kept
    memory is not reused at once: torch asks for 64-byte aligned blocks, a little more than a
    freed one holds, until freed neighbours coalesce; a training step repeats itself)."""
    for _ in range(warm):
        torch.ones(16 * 2 ** 20)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(16 * 2 ** 20)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

def resident_mb():
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2 ** 20
'''


def run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PRELUDE + code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_freed_memory_is_reused_inside_the_block_and_given_back_after():
    seen = run('''
out = {"before": refaults()}
with keep_freed_memory() as active:
    out["active"], out["inside"], kept = active, refaults(), resident_mb()
out["given_back_mb"] = kept - resident_mb()
print(json.dumps(out))
''')
    assert seen["before"] > PAGES // 2                                 # glibc's default: mapped afresh
    assert seen["active"] and seen["inside"] < PAGES // 20
    assert seen["given_back_mb"] > 32                                  # malloc_trim on leaving
    off = run('''
with keep_freed_memory(enabled=False) as active:
    print(json.dumps({"active": active, "inside": refaults()}))
''')
    assert not off["active"] and off["inside"] > PAGES // 2


def test_training_epochs_run_inside_it_unless_switched_off(tmp_path):
    def fit_and_count(keep: bool) -> dict:
        return run(f'''
from mmkg.train.config import TrainConfig
from mmkg.train.data import TrainData
from mmkg.train.fit import fit
from tests.synthetic_export import make_export
faults = []
config = TrainConfig.load(overrides={{"epochs": 2, "batch_size": 32, "keep_freed_memory": {keep}}})
result = fit(TrainData.from_export(make_export()), config, Path("{tmp_path / str(keep)}"), progress=False,
             on_epoch=lambda epoch, valid: faults.append(refaults()))
print(json.dumps({{"faults": faults, "test": result["test"], "loss": result["history"][-1]["loss"]}}))
''')

    kept, plain = fit_and_count(True), fit_and_count(False)
    assert len(kept["faults"]) == 2 and all(f < PAGES // 20 for f in kept["faults"])
    assert len(plain["faults"]) == 2 and all(f > PAGES // 2 for f in plain["faults"])
    assert kept["test"] == plain["test"] and kept["loss"] == plain["loss"]
