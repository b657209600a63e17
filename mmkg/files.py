"""Owner-only output. What mmkg writes holds user ids, listens and embeddings (run folders,
export folders, the importer's CSV files), so it is created as the Neo4j store is
(:mod:`mmkg.server.local`): directories 0700, files 0600.

Every ``mmkg`` command runs under :func:`owner_only` (``mmkg.cli.main``); the library functions
that create such folders (:func:`mmkg.export.staging.staged_folder`,
:func:`mmkg.ingest.bulk.write_import_files`) use it too, for callers other than the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

OWNER_ONLY_UMASK = 0o077
"""The umask of owner-only output: new directories 0700, new files 0600."""


@contextmanager
def owner_only() -> Iterator[None]:
    """Run the block under the umask :data:`OWNER_ONLY_UMASK`, the previous one restored after.

    The umask belongs to the process: files every thread creates meanwhile, and processes
    started in the block (training workers, the JVM), are owner-only too.
    """
    previous = os.umask(OWNER_ONLY_UMASK)
    try:
        yield
    finally:
        os.umask(previous)
