"""The batch driver: hands one video per task to an engine's workers and alone writes the store.

Each finished video is saved as Analyze saves it (``save_analysis``: the whole record or nothing) the
moment it comes back, so Ctrl-C, a cancel or a kill keeps every finished video and never a half one;
a re-run skips what is stored for the same video/model/settings. A failed video is reported with its
path and a one-line reason and the batch goes on; a video whose worker died is tried once more. Each failure
is stored with whether a retry may pass (its error's type): a resume tries again only those.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

from core.batch.jobs import FINISHED_ITEM, JobStore
from core.batch.local import LocalEngine
from core.batch.worker import Crashed, Event, Finished, VideoOutcome, VideoTask, WorkerSpec
from core.config import EventConfig, ScoringConfig
from core.engine import default_model, save_analysis
from core.errors import ConfigError, ModelUnavailableError, VigilError
from core.registry import status
from core.store import Store, check_storage

ENGINES = ("local", "ray")
MAX_ATTEMPTS = 2  # a video whose worker died is retried once, then reported
CANCEL_POLL_S = 0.5


class Engine(Protocol):
    """Runs ``VideoTask``s on long-lived workers. ``workers`` is known once ``start`` returned."""

    name: str
    workers: int

    def start(self, spec: WorkerSpec) -> None: ...
    def idle(self) -> int: ...
    def submit(self, task: VideoTask) -> None: ...
    def poll(self, timeout: float) -> list[Event]: ...
    def stop(self) -> None: ...


def make_engine(
    name: str, workers: int | None = None, gpus_per_worker: float = 0.0, videos: int | None = None
) -> Engine:
    """The engine called ``name``; Ray is imported only for ``ray``. ``videos`` caps the default width
    (no worker is started that would have nothing to do)."""
    if workers is not None and workers < 1:
        raise ConfigError("--workers must be at least 1.")
    if gpus_per_worker < 0:
        raise ConfigError("--gpus-per-worker cannot be negative.")
    if name == "local":
        if gpus_per_worker:
            raise ConfigError("--gpus-per-worker needs --engine ray (the local engine does not place GPUs).")
        return LocalEngine(min(workers or os.cpu_count() or 1, videos or 1 << 30))
    if name == "ray":
        from core.batch.ray_engine import RayEngine

        return RayEngine(workers and min(workers, videos or 1 << 30), gpus_per_worker, max_workers=videos)
    raise ConfigError(f"Unknown engine '{name}': choose one of {', '.join(ENGINES)}.")


@dataclass
class BatchProgress:
    """Where a batch is. Counts are videos; ``footage`` is seconds of video scored in this run;
    ``elapsed`` is seconds since the workers were ready."""

    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    running: int = 0
    footage: float = 0.0
    elapsed: float = 0.0
    cpu_seconds: float = 0.0  # worker CPU time spent on the videos scored in this run

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed

    @property
    def videos_per_s(self) -> float:
        return self.finished / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def footage_hours_per_hour(self) -> float:
        return self.footage / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (None before the first video finishes)."""
        rate = self.videos_per_s
        return (self.total - self.finished) / rate if rate > 0 else None


@dataclass
class BatchSummary:
    """The result of one run. ``seconds``: wall time from start to end (workers' start-up and stop
    included); ``startup_seconds``: of which starting the workers, ``shutdown_seconds``: stopping them
    (Ray started on this machine takes ~1.5 s to stop its daemons). Both are paid once per batch, not per
    video: rates are over the scoring time between them."""

    job_id: str
    engine: str
    workers: int
    model: str
    videos: int
    done: int
    skipped: int
    failed: int
    failures: list[dict] = field(default_factory=list)  # {"source", "reason", "retryable"}
    todo: int = 0  # videos this run set out to score: all of a new batch, what was left of a resumed one
    hopeless: int = 0  # failed in a run before in a way no retry can help: left failed, not tried again
    seconds: float = 0.0
    startup_seconds: float = 0.0
    shutdown_seconds: float = 0.0
    footage_hours: float = 0.0
    cpu_seconds: float = 0.0
    cancelled: bool = False

    @property
    def scoring_seconds(self) -> float:
        return max(0.0, self.seconds - self.startup_seconds - self.shutdown_seconds)

    @property
    def videos_per_s(self) -> float:
        s = self.scoring_seconds
        return (self.done + self.skipped + self.failed) / s if s > 0 else 0.0

    @property
    def footage_hours_per_hour(self) -> float:
        s = self.scoring_seconds
        return self.footage_hours * 3600.0 / s if s > 0 else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(
            scoring_seconds=round(self.scoring_seconds, 3),
            videos_per_s=round(self.videos_per_s, 4),
            footage_hours_per_hour=round(self.footage_hours_per_hour, 3),
            footage_hours_per_hour_per_worker=round(self.footage_hours_per_hour / max(1, self.workers), 3),
            footage_hours_per_cpu_hour=round(self.footage_hours * 3600.0 / self.cpu_seconds, 3)
            if self.cpu_seconds > 0
            else 0.0,
        )
        d["seconds"] = round(self.seconds, 3)
        d["startup_seconds"] = round(self.startup_seconds, 3)
        d["shutdown_seconds"] = round(self.shutdown_seconds, 3)
        d["footage_hours"] = round(self.footage_hours, 5)
        return d


ProgressFn = Callable[[BatchProgress], None]
CancelFn = Callable[[], bool]


def worker_spec(model: str, scoring: ScoringConfig, events: EventConfig, store: Store) -> WorkerSpec:
    """Check the model can run here and the store can keep results, and list what is already stored for
    this model and these settings (the skip set)."""
    check_storage(store.db)  # a read-only or full data folder says so before any worker starts
    st = status(model)  # UnknownModelError for a name nobody registered
    if not st.available:
        raise ModelUnavailableError(f"Model '{model}' cannot run here: {st.reason}.")
    return WorkerSpec(model, scoring, events, frozenset(store.stored_versions(model, scoring)))


def run_batch(
    sources: list[str],
    model: str | None = None,
    engine: str | Engine = "local",
    workers: int | None = None,
    gpus_per_worker: float = 0.0,
    scoring: ScoringConfig | None = None,
    events: EventConfig | None = None,
    owner: str | None = None,
    inputs: list[str] | None = None,
    store: Store | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    on_job: Callable[[str, Engine], None] | None = None,
) -> BatchSummary:
    """Score ``sources`` (one path or link per video) and store each result. The workers are started
    before anything is recorded, so a model or cluster that cannot be used leaves the store unchanged.
    ``on_job(job_id, engine)`` is called once the job is recorded and the workers are ready."""
    model = model or default_model()
    scoring = scoring or ScoringConfig()
    events = events or EventConfig()
    store = store or Store()
    eng = engine if not isinstance(engine, str) else make_engine(engine, workers, gpus_per_worker, len(sources))
    spec = worker_spec(model, scoring, events, store)
    t0 = time.perf_counter()
    eng.start(spec)
    try:
        jobs = JobStore(store.db)
        job_id = jobs.create(sources, model, eng.name, eng.workers, gpus_per_worker, scoring, events, owner, inputs)
        jobs.mark_running(job_id)
        if on_job is not None:
            on_job(job_id, eng)
    except BaseException:
        eng.stop()
        raise
    return _drive(job_id, eng, spec, store, jobs, t0, progress, cancel)


def run_job(
    job_id: str, store: Store | None = None, progress: ProgressFn | None = None, cancel: CancelFn | None = None
) -> BatchSummary:
    """Run (or resume) a recorded job: the videos not yet done or skipped. A model or cluster that cannot
    be used marks the job failed with the reason and raises it."""
    store = store or Store()
    jobs = JobStore(store.db)
    job = jobs.get(job_id)
    jobs.mark_running(job_id)
    t0 = time.perf_counter()
    try:
        left = sum(1 for i in jobs.items(job_id) if i.left)
        eng = make_engine(job.engine, job.workers, job.gpus_per_worker, left)
        spec = worker_spec(job.model, job.scoring, job.events, store)
        eng.start(spec)
    except VigilError as err:
        jobs.finish(job_id, "failed", error=str(err))
        raise
    except BaseException as err:
        jobs.finish(job_id, "failed", error=f"{type(err).__name__}: {err}")
        raise
    return _drive(job_id, eng, spec, store, jobs, t0, progress, cancel)


def _drive(
    job_id: str,
    engine: Engine,
    spec: WorkerSpec,
    store: Store,
    jobs: JobStore,
    t0: float,
    progress: ProgressFn | None,
    cancel: CancelFn | None,
) -> BatchSummary:
    items = jobs.items(job_id)
    todo = [i for i in items if i.left]  # failures a retry cannot help stay as they are
    tried_before = {i.index: i.attempts for i in todo}  # a resume counts on from the tries of the runs before
    job_owner = jobs.get(job_id).owner
    owner = job_owner if "@" in job_owner else ""  # analyses record a signed-in address; "" = no login
    startup = time.perf_counter() - t0
    ready_at = time.perf_counter()
    prog = BatchProgress(total=len(todo))
    failures: list[dict] = []
    pending = deque(VideoTask(i.index, i.source) for i in todo)
    in_flight: dict[int, VideoTask] = {}
    cancelled = False
    error = ""
    next_cancel_check = 0.0

    def finish(o: VideoOutcome, attempts: int) -> None:
        analysis_id = None
        status = o.status
        if o.status == "done" and o.computed is not None:
            rec = o.computed.record
            analysis_id = store.find(o.video_hash, rec.model, rec.model_version, rec.scoring)
            if analysis_id is None:
                computed = replace(o.computed, record=replace(rec, owner=owner))
                analysis_id = save_analysis(store, computed).id
                prog.footage += o.footage
                prog.cpu_seconds += o.cpu_seconds
            else:
                status = "skipped"  # the same video twice in one batch: stored once
        elif o.status == "skipped":
            analysis_id = store.find(o.video_hash, spec.model, o.model_version, spec.scoring)
        if status == "done":
            prog.done += 1
        elif status == "skipped":
            prog.skipped += 1
        else:
            prog.failed += 1
            failures.append({"source": o.source, "reason": o.reason, "retryable": o.retryable})
        tries = tried_before[o.index] + attempts
        jobs.set_item(job_id, o.index, status, analysis_id, o.reason, tries, o.seconds, o.footage, o.retryable)

    def hand_out() -> None:
        started = []
        while pending and engine.idle():
            task = pending.popleft()
            engine.submit(task)
            in_flight[task.index] = task
            started.append(task)
        for task in started:  # recorded after every idle worker has its video: a write takes ~10 ms
            jobs.set_item(job_id, task.index, "running", attempts=tried_before[task.index] + task.attempt)

    unsaved: deque[tuple[VideoOutcome, int]] = deque()  # outcomes in hand, saved after the next hand-out
    try:
        while pending or in_flight:
            now = time.perf_counter()
            if now >= next_cancel_check:
                next_cancel_check = now + CANCEL_POLL_S
                if (cancel is not None and cancel()) or jobs.cancel_requested(job_id):
                    cancelled = True
                    break
            hand_out()
            for ev in engine.poll(0.25):
                if isinstance(ev, Finished):
                    task = in_flight.pop(ev.outcome.index)
                    unsaved.append((ev.outcome, task.attempt))
                elif isinstance(ev, Crashed):
                    task = in_flight.pop(ev.task.index)
                    if task.attempt < MAX_ATTEMPTS:
                        pending.appendleft(replace(task, attempt=task.attempt + 1))
                        tries = tried_before[task.index] + task.attempt
                        jobs.set_item(job_id, task.index, "pending", reason=ev.reason, attempts=tries)
                    else:
                        reason = f"{ev.reason}, on both tries"
                        unsaved.append((VideoOutcome(task.index, task.source, "failed", reason=reason), task.attempt))
            if unsaved:
                hand_out()  # a freed worker gets its next video before the driver spends time saving
            while unsaved:
                finish(*unsaved.popleft())
            prog.running = len(in_flight)
            prog.elapsed = time.perf_counter() - ready_at
            if progress is not None:
                progress(prog)
    except KeyboardInterrupt:
        cancelled = True
    except VigilError as err:  # the engine itself gave up (every worker died while starting...)
        error = str(err)
    finally:
        scored_at = time.perf_counter()  # the scoring time ends here; stopping the workers is counted apart
        engine.stop()
        shutdown = time.perf_counter() - scored_at
    try:
        while unsaved:  # stopped while outcomes were in hand: those videos finished, so they are kept
            finish(*unsaved.popleft())
    except VigilError as err:  # the store itself failed (full disk...)
        error = error or str(err)
    summary = BatchSummary(
        job_id=job_id,
        engine=engine.name,
        workers=engine.workers,
        model=spec.model,
        videos=len(items),
        done=prog.done,
        skipped=prog.skipped + sum(i.status in FINISHED_ITEM for i in items),
        failed=prog.failed,
        failures=failures,
        todo=len(todo),
        hopeless=sum(i.hopeless for i in items),
        seconds=time.perf_counter() - t0,
        startup_seconds=startup,
        shutdown_seconds=shutdown,
        footage_hours=prog.footage / 3600.0,
        cpu_seconds=prog.cpu_seconds,
        cancelled=cancelled,
    )
    jobs.finish(job_id, "failed" if error else "cancelled" if cancelled else "done", summary.to_dict(), error)
    if error:
        raise VigilError(error)
    return summary
