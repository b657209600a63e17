"""Job runners for feature workers, imported by name in the workers: one that dies on one chunk,
one that reports what its worker has loaded."""

from __future__ import annotations

import os
import signal
import sys

from mmkg.config import MediaSettings
from mmkg.ingest.features.jobs import Job, JobResult, run_job

DOOMED = "doomed"
"""A chunk holding a track of this id kills its worker (as a segfault or the OOM killer would)."""


def run_job_or_die(job: Job, settings: MediaSettings) -> JobResult:
    """:func:`run_job`, except that a chunk holding track :data:`DOOMED` kills its process."""
    if any(track == DOOMED for track, _ in job.rows):
        os.kill(os.getpid(), signal.SIGKILL)
    return run_job(job, settings)


def run_job_and_report_torch(job: Job, settings: MediaSettings) -> JobResult:
    """:func:`run_job`, with one more warning: ``"torch loaded: True"`` or ``"... False"`` for
    the worker it ran in."""
    result = run_job(job, settings)
    result.warnings.append(f"torch loaded: {'torch' in sys.modules}")
    return result
