"""Archive scoring: many videos, one task each, on a local process pool or a Ray cluster.

``collect_videos`` turns folders, globs, list files and links into one entry per video; ``run_batch``
(the CLI) and ``run_job`` (a job recorded by the Archive page) score them on long-lived workers that
each load the model once, and the driver alone writes the store. Nothing here imports Ray unless the
``ray`` engine is chosen (``core.batch.ray_engine``).
"""

from core.batch.driver import BatchProgress, BatchSummary, make_engine, run_batch, run_job
from core.batch.inputs import collect_videos
from core.batch.jobs import BatchItem, BatchJob, JobStore, launch

__all__ = [
    "BatchItem",
    "BatchJob",
    "BatchProgress",
    "BatchSummary",
    "JobStore",
    "collect_videos",
    "launch",
    "make_engine",
    "run_batch",
    "run_job",
]
