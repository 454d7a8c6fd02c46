"""What a batch worker does: open one video, score it with a model loaded once, hand the result back.

A worker never opens the store: its ``VideoOutcome`` carries the computed record and thumbnails as
bytes, and the driver alone writes them (``core.batch.driver``). Both engines (process pool and Ray
actors) wrap the same ``BatchWorker``, which runs the same engine function as Analyze.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Literal

from core.config import EventConfig, ScoringConfig
from core.engine import ComputedAnalysis, compute_analysis
from core.errors import SourceError, VigilError, retryable
from core.registry import load_scorer, unpack_model
from core.sources import is_url, open_source

Status = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker of one batch needs: the model, the settings and what is already stored.

    ``skip_hashes``: (sha256, model version) of the videos already analysed with this model and scoring
    settings when the batch started; a worker hashes a video first and skips it when listed with the
    version its own scorer reports (a model's version can depend on the weights present, e.g. vigil's).
    ``threads``: OpenCV/torch threads per worker (1: the batch's parallelism is its workers);
    ``prefetch``: decode in a second thread as Analyze does (off: one core per worker);
    ``model_files``: a trained model's card and artifact (``registry.model_files``) for workers on machines that
    cannot read the driver's model folder (the Ray engine sends them; empty: load the model by name as usual).
    """

    model: str
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    events: EventConfig = field(default_factory=EventConfig)
    skip_hashes: frozenset[tuple[str, str]] = frozenset()
    threads: int = 1
    prefetch: bool = False
    model_files: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class VideoTask:
    """One video of a batch: its position, the path or link as given, and which try this is (1 or 2)."""

    index: int
    source: str
    attempt: int = 1


@dataclass
class VideoOutcome:
    """What a worker hands back for one task. ``seconds``: wall time in the worker; ``cpu_seconds``: CPU
    time of the worker process meanwhile (all its threads); ``footage``: seconds of video scored (0 when
    skipped or failed)."""

    index: int
    source: str
    status: Status
    computed: ComputedAnalysis | None = None
    video_hash: str = ""
    reason: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    footage: float = 0.0
    model_version: str = ""  # the version the worker's scorer reports (the store's key with the hash)
    retryable: bool = True  # failed: whether a retry may pass (``core.errors.retryable`` of its error)


@dataclass(frozen=True)
class Finished:
    """A worker handed back an outcome (done, skipped or failed)."""

    outcome: VideoOutcome


@dataclass(frozen=True)
class Crashed:
    """The worker running ``task`` died before answering."""

    task: VideoTask
    reason: str


Event = Finished | Crashed


def one_line(err: BaseException) -> str:
    """A readable one-line reason: the user-facing message, or the type and first line of a bug."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if isinstance(err, VigilError):
        return text or type(err).__name__
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def limit_threads(n: int) -> None:
    """Keep each worker on ``n`` threads so N workers share N cores without oversubscription.

    The BLAS pools (numpy's and OpenCV's OpenBLAS) read OMP_NUM_THREADS only when loaded, which a spawned
    pool worker does before it knows ``n`` (Ray sets it for its actors beforehand): resize them in place."""
    import cv2
    from threadpoolctl import threadpool_limits

    cv2.setNumThreads(n)
    threadpool_limits(limits=n)  # called, not entered: the limit holds for the worker's life
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


class BatchWorker:
    """Long-lived: loads the scorer once (raises ``VigilError`` when it cannot), then scores one video
    per ``run`` call. Never raises from ``run``: every failure becomes a ``failed`` outcome."""

    def __init__(self, spec: WorkerSpec):
        os.environ.setdefault("OMP_NUM_THREADS", str(spec.threads))
        limit_threads(spec.threads)
        self.spec = spec
        unpack_model(dict(spec.model_files))
        self.scorer = load_scorer(spec.model)
        if spec.threads == 1 and hasattr(self.scorer, "threads"):
            self.scorer.threads = False  # one core per worker: the workers are the parallelism (same scores)

    def run(self, task: VideoTask) -> VideoOutcome:
        t0, c0 = time.perf_counter(), time.process_time()
        out = self._run(task)
        out.seconds, out.cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        return out

    def _run(self, task: VideoTask) -> VideoOutcome:
        video_hash = ""
        try:
            if not is_url(task.source) and os.path.exists(task.source) and not os.access(task.source, os.R_OK):
                raise SourceError(f"Cannot read '{task.source}': permission denied.")
            source = open_source(task.source)
            video_hash = source.sha256
            version = self.scorer.info.version
            if (video_hash, version) in self.spec.skip_hashes:
                return VideoOutcome(task.index, task.source, "skipped", video_hash=video_hash, model_version=version)
            computed = compute_analysis(
                source, self.scorer, self.spec.scoring, self.spec.events, task.source, prefetch=self.spec.prefetch
            )
        except Exception as err:  # one video's failure is reported; the batch goes on
            return VideoOutcome(
                task.index, task.source, "failed", video_hash=video_hash, reason=one_line(err), retryable=retryable(err)
            )
        return VideoOutcome(
            task.index,
            task.source,
            "done",
            computed=computed,
            video_hash=video_hash,
            footage=computed.record.track.duration,
        )
