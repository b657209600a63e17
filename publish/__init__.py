"""Publish: a trained run's vectors, top-K lists and calibrations written back to Neo4j.

The step after ``train`` and before the queries in ``cypher/``: ``publish`` makes a run the
current model (``writer``), under a lock that one publish holds at a time (``lock``);
``publish_new_tracks`` embeds tracks ingested after training with the current model
(``new_tracks``); ``calibrate`` measures how close track pairs are across the catalog, so that an
explanation ("sounds like …") means something.
"""

from mmkg.publish.new_tracks import publish_new_tracks
from mmkg.publish.writer import publish, read_run

__all__ = ["publish", "publish_new_tracks", "read_run"]
