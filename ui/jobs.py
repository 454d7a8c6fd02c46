"""Analyses that run as server-side jobs: a thread per run, owned by a process-wide registry, not by a page run.

A browser reload starts a new Streamlit session and a page switch stops the page's script: a run inside the
script died with it. A job keeps going; any session of its owner finds it by ``ui.auth.identity().owner``,
shows its progress and, when it ends, takes its outcome (once). No Streamlit here: pages poll snapshots.

A job given a ``RunningAnalyses`` journal is also recorded in the store while it runs (``core/running.py``), so that
a server restart, which ends every thread here, leaves a record its owner is told about and can run again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from core.errors import AnalysisCancelled, VigilError
from core.running import AnalysisRequest, RunningAnalyses
from core.store import AnalysisRecord

log = logging.getLogger("vigil.jobs")

JobState = Literal["running", "done", "failed", "cancelled"]
ReportFn = Callable[[float, str], None]  # (fraction 0..1, the progress text a page shows)
CancelledFn = Callable[[], bool]
Work = Callable[[ReportFn, CancelledFn], AnalysisRecord]  # raises VigilError (AnalysisCancelled when asked)

CLAIM_GRACE_S = 3.0  # the session that started a run gets its outcome first; others (a reload) after this
KEEP_S = 3600.0  # an outcome nobody came for is dropped after this (the analysis itself is in History)
RECORD_EVERY_S = 5.0  # a recorded job's progress (its heartbeat) is written this often, moved or not; never per frame


@dataclass(frozen=True)
class JobView:
    """A moment's copy of a job for a page: ``fraction`` 0..1, ``text`` the progress line, and when it has ended
    the ``record`` (done), the user-readable ``error`` (failed), or nothing (cancelled)."""

    id: str
    label: str
    state: JobState
    fraction: float
    text: str
    cancel_requested: bool
    record: AnalysisRecord | None = None
    error: str | None = None
    overlay_on: str | None = None  # a Compare run: the analysis id its scores are overlaid on


@dataclass
class _Job:
    id: str
    owner: str
    session: str
    label: str
    overlay_on: str | None = None
    fraction: float = 0.0
    text: str = ""
    state: JobState = "running"
    record: AnalysisRecord | None = None
    error: str | None = None
    ended_at: float | None = None  # registry clock, seconds
    journal: RunningAnalyses | None = None  # where it is recorded while it runs (None: not recorded)
    cancel: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)

    def view(self) -> JobView:
        j = self
        return JobView(j.id, j.label, j.state, j.fraction, j.text, j.cancel.is_set(), j.record, j.error, j.overlay_on)


class JobRegistry:
    """Every running or not-yet-collected analysis of this server process. Thread-safe.

    Every call names the ``owner``: one user's calls never see, cancel or take another user's jobs.
    ``clock``: seconds, monotonic (a test passes its own). ``record_every_s``: how often a recorded job's heartbeat
    is written (seconds of real time; a test passes a short one).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, record_every_s: float = RECORD_EVERY_S) -> None:
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._record_every_s = record_every_s

    def start(
        self,
        owner: str,
        session: str,
        label: str,
        work: Work,
        overlay_on: str | None = None,
        journal: RunningAnalyses | None = None,
        request: AnalysisRequest | None = None,
    ) -> str:
        """Run ``work(report, cancelled)`` in a daemon thread; returns the job's id.

        ``session``: a token of the session that started it (it gets the outcome first, see ``take_finished``).
        ``overlay_on``: for a Compare run, the analysis id its result is to be overlaid on (kept for whoever collects).
        ``journal`` and ``request``: record the job there before it starts, its progress every ``record_every_s``
        (also while it reports nothing: a download, a transcode), and drop the record when it ends in any way. A record
        that cannot be written is logged, never fatal.
        """
        job = _Job(uuid.uuid4().hex, owner, session, label, overlay_on, text=f"Opening {label}…")
        if journal is not None and request is not None:
            job.journal = journal
            _quietly(journal.begin, job.id, request)
        with self._lock:
            self._sweep()
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, work), name=f"vigil-analysis-{job.id[:8]}", daemon=True).start()
        return job.id

    def _run(self, job: _Job, work: Work) -> None:
        def report(fraction: float, text: str) -> None:
            with self._lock:
                job.fraction, job.text = min(1.0, max(0.0, fraction)), text

        stop = threading.Event()
        if job.journal is not None:
            beat = threading.Thread(target=self._heartbeat, args=(job, stop), name=f"vigil-beat-{job.id[:8]}")
            beat.daemon = True
            beat.start()
        state: JobState
        record, error = None, None
        try:
            record, state = work(report, job.cancel.is_set), "done"
        except AnalysisCancelled:
            state = "cancelled"
        except VigilError as err:
            state, error = "failed", str(err)
        except Exception:  # noqa: BLE001 - a bug must not kill the thread silently: logged, the user told in words
            log.exception("analysis of %s failed", job.label)
            state, error = "failed", f"The analysis of {job.label} failed unexpectedly; the server log has details."
        stop.set()  # a beat already under way updates no row once the next line has deleted it
        if job.journal is not None:
            _quietly(job.journal.end, job.id)  # ended: nothing is left to run again
        with self._lock:
            job.state, job.record, job.error, job.ended_at = state, record, error, self._clock()
        job.ended.set()

    def _heartbeat(self, job: _Job, stop: threading.Event) -> None:
        """Write ``job``'s progress every ``record_every_s`` until ``stop``, moved or not: a record whose heartbeat
        stops changing is judged interrupted by a server of another host name (``core.running.HeartbeatWatch``): each
        write is this host's time to the second, a new value every time, never compared with the other's clock. Its own
        thread: the work may report nothing for minutes, and a write waiting on the database stalls no page's poll."""
        while not stop.wait(self._record_every_s):
            with self._lock:
                fraction = job.fraction
            _quietly(job.journal.progress, job.id, fraction)

    def jobs(self, owner: str) -> list[JobView]:
        """``owner``'s jobs not yet taken (running ones and ended ones), oldest first."""
        with self._lock:
            self._sweep()
            return [j.view() for j in self._jobs.values() if j.owner == owner]

    def wait(self, owner: str, job_id: str, timeout: float) -> bool:
        """Block up to ``timeout`` s for the job to end; True when it has (False also for another owner's job)."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job is not None and job.owner == owner and job.ended.wait(timeout)

    def cancel(self, owner: str, job_id: str, wait_s: float = 0.0) -> None:
        """Ask the job to stop (it stores nothing then) and wait up to ``wait_s`` s for it to end.

        A job already saving its result ends "done": cancelling never loses a stored analysis unannounced.
        """
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            return
        job.cancel.set()
        job.ended.wait(wait_s)

    def collectable(self, owner: str, session: str, compare: bool | None = None) -> bool:
        """True when ``take_finished(owner, session, compare)`` would return something."""
        with self._lock:
            return bool(self._collectable(owner, session, compare))

    def take_finished(self, owner: str, session: str, compare: bool | None = None) -> list[JobView]:
        """Remove and return ``owner``'s ended jobs this ``session`` may collect, in the order they ended.

        The starting session may collect at once; any other session of the owner (the same user after a reload,
        or in another tab) once the job has waited ``CLAIM_GRACE_S`` uncollected. ``compare``: True only Compare
        runs (``overlay_on`` set), False only the others, None all: each kind is collected where it is shown.
        """
        with self._lock:
            self._sweep()
            mine = self._collectable(owner, session, compare)
            for j in mine:
                del self._jobs[j.id]
        return [j.view() for j in mine]

    def _collectable(self, owner: str, session: str, compare: bool | None) -> list[_Job]:
        """(lock held) ``owner``'s ended jobs of that kind that ``session`` may collect, in the order they ended."""
        now = self._clock()
        ended = [
            j
            for j in self._jobs.values()
            if j.owner == owner and j.ended_at is not None and compare in (None, j.overlay_on is not None)
        ]
        mine = [j for j in ended if j.session == session or now - (j.ended_at or now) >= CLAIM_GRACE_S]
        return sorted(mine, key=lambda j: j.ended_at or 0.0)

    def _sweep(self) -> None:
        """Drop outcomes nobody collected within ``KEEP_S`` (called with the lock held)."""
        now = self._clock()
        for job_id in [i for i, j in self._jobs.items() if j.ended_at is not None and now - j.ended_at > KEEP_S]:
            del self._jobs[job_id]


def _quietly(write: Callable[..., None], *args: object) -> None:
    """Write a job's record; a failure (a full disk, a locked database) is logged: the analysis itself goes on."""
    try:
        write(*args)
    except Exception:  # noqa: BLE001 - the record is a safety net, never a reason for an analysis to fail
        log.warning("could not record the running analysis %s", args[0], exc_info=True)
