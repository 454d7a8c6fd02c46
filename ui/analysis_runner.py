"""Running an analysis from a page: as a server-side job (Analyze) or inline (Compare), with progress and cancel."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.config import EventConfig, ScoringConfig
from core.engine import Progress, analyze
from core.errors import AnalysisCancelled, SourceError, VigilError
from core.media import playable_video
from core.netguard import strip_credentials
from core.scorers.base import Scorer
from core.sources import check_url, discard_upload, open_source
from core.store import AnalysisRecord, Store, check_storage
from ui import state
from ui.auth import identity
from ui.cache import get_scorer, get_store, job_registry
from ui.charts import mmss
from ui.jobs import CancelledFn, ReportFn

INLINE_WAIT_S = 1.5  # a reused or tiny analysis opens in the click's own run, without a progress bar flashing by
POLL_S = 1.0  # how often a page showing running analyses looks at them
CANCEL_WAIT_S = 5.0  # Cancel waits this long for the job to stop, so its message comes with the click


def progress_text(label: str, p: Progress) -> str:
    """The line under the progress bar: frames, frames/s and time left while scoring, then the stage in words."""
    if p.stage:  # after the last frame: the step under way, not a stale frame count and time left
        return f"{label}: {p.frames} frames scored · {p.stage}…"
    left = f" · {mmss(p.eta)} left" if p.eta is not None else ""
    return f"Scoring {label}: {p.frames} frames · {p.fps:.0f} frames/s{left}"


def open_and_analyze(
    source: str | Path | bytes,
    model: str,
    scoring: ScoringConfig,
    events: EventConfig,
    *,
    label: str,
    scorer: Scorer,
    store: Store,
    owner: str,
    report: ReportFn,
    cancelled: CancelledFn | None = None,
    source_uri: str | None = None,
    name: str | None = None,
    link: bool = False,
) -> AnalysisRecord:
    """Download/open, score, store, prepare playback. No Streamlit: it runs in a job's thread too.

    ``report(fraction 0..1, text)`` gets each progress line; ``cancelled()`` True stops the run with AnalysisCancelled
    if nothing is stored yet (once stored, it finishes). Raises VigilError with a user-readable message; a rejected
    upload is not kept.
    """
    src = None
    try:
        check_storage(store.db)  # a read-only or full data folder says so before the work starts
        if link:
            source = check_url(str(source))
        src = open_source(source, name=name, progress=report)
        if cancelled is not None and cancelled():  # cancelled while downloading: the download stays in its cache
            raise AnalysisCancelled("Analysis cancelled; nothing was saved.")
        rec = analyze(
            src,
            model=model,
            scoring=scoring,
            events=events,
            store=store,
            progress=lambda p: report(p.fraction, progress_text(label, p)),
            cancel=cancelled,
            scorer=scorer,
            source_uri=source_uri,
            owner=owner,
        )
    except SourceError:
        if isinstance(source, bytes) and src is not None:
            discard_upload(src.path, referenced=store.uses_video(str(src.path)))  # rejected: not kept
        raise
    report(1.0, f"{label}: preparing playback in the browser (H.264)…")
    try:
        playable_video(src)  # transcode once now so reopening from History plays at once
    except (OSError, ValueError):
        pass  # playback is a convenience; the analysis itself is stored
    return rec


def run_analysis(
    source: str | Path | bytes,
    model: str,
    scoring: ScoringConfig,
    events: EventConfig,
    label: str,
    source_uri: str | None = None,
    name: str | None = None,
    link: bool = False,
) -> AnalysisRecord | None:
    """Analyse inside this page run with a live progress bar. Errors become st.error.

    ``link=True`` (the link field) accepts http(s) links only: a path typed there is refused rather
    than read from the server's disk. A Cancel button is shown while it runs: clicking it reruns the
    page, which stops this run at the next progress update; the engine then stores nothing.
    """
    label = strip_credentials(label)  # the link's user:pass is for the download only, never shown
    state.mark_running(label)
    bar = st.progress(0.0, text=f"Opening {label}…")
    cancel = st.empty()  # removed when the run ends: a Cancel under finished results would mislead
    cancel.button("Cancel", key=f"cancel.{label}", help="Stop the analysis; nothing is saved.")
    try:
        rec = open_and_analyze(
            source,
            model,
            scoring,
            events,
            label=label,
            scorer=get_scorer(model),
            store=get_store(),
            owner=identity().owner,
            report=lambda f, text: bar.progress(min(1.0, f), text=text),
            source_uri=source_uri,
            name=name,
            link=link,
        )
    except VigilError as err:
        bar.empty()
        cancel.empty()
        state.mark_running(None)
        st.error(str(err))
        return None
    # Any other exit (Cancel's rerun, a stop) leaves the mark so the next run can say it was cancelled.
    bar.empty()
    cancel.empty()
    state.mark_running(None)
    return rec


def start_analysis(
    source: str | Path | bytes,
    model: str,
    scoring: ScoringConfig,
    events: EventConfig,
    label: str,
    source_uri: str | None = None,
    name: str | None = None,
    link: bool = False,
) -> str | None:
    """Start analysing as a job of this user that outlives the page run (reload, page switch); returns its id.

    The model is loaded here, in the page run (its spinner shows; the cache is shared), so the job needs no
    Streamlit. Progress, Cancel and the outcome: ``show_jobs``. A model that cannot load: st.error, None.
    """
    label = strip_credentials(label)  # the link's user:pass is for the download only, never shown
    try:
        scorer = get_scorer(model)
    except VigilError as err:
        st.error(str(err))
        return None
    store, owner = get_store(), identity().owner

    def work(report: ReportFn, cancelled: CancelledFn) -> AnalysisRecord:
        return open_and_analyze(
            source,
            model,
            scoring,
            events,
            label=label,
            scorer=scorer,
            store=store,
            owner=owner,
            report=report,
            cancelled=cancelled,
            source_uri=source_uri,
            name=name,
            link=link,
        )

    return job_registry().start(owner, state.session_token(), label, work)


def show_jobs(started: str | None = None) -> AnalysisRecord | None:
    """Show this user's analyses: each ended one's outcome once (an error, a cancellation), running ones with live
    progress and Cancel (polled). Returns the record of the last one that finished, to open.

    ``started``: a job this run just started; waited for ``INLINE_WAIT_S`` so a quick one opens at once.
    """
    registry, owner, session = job_registry(), identity().owner, state.session_token()
    if started:
        registry.wait(owner, started, INLINE_WAIT_S)
    rec = None
    for job in registry.take_finished(owner, session):
        if job.state == "done":
            rec = job.record
        elif job.state == "failed":
            st.error(job.error)
        else:
            st.info(f"The analysis of {job.label} was cancelled; nothing was saved.")
    if registry.jobs(owner):
        _running_jobs()
    return rec


def analyses_running() -> bool:
    """True while this user has an analysis under way (or ended and not yet collected)."""
    return bool(job_registry().jobs(identity().owner))


def _cancel(job_id: str) -> None:
    job_registry().cancel(identity().owner, job_id, CANCEL_WAIT_S)


@st.fragment(run_every=POLL_S)
def _running_jobs() -> None:
    """Progress bars with Cancel, redrawn every ``POLL_S``; the whole page reruns when one has ended for us."""
    registry, owner = job_registry(), identity().owner
    if registry.collectable(owner, state.session_token()):
        st.rerun()  # the full run takes the outcome: results under the form, an error, a cancellation note
    for job in registry.jobs(owner):
        if job.state != "running":
            continue  # ended, kept a moment for the session that started it
        st.progress(job.fraction, text="Cancelling…" if job.cancel_requested else job.text)
        st.button(
            "Cancel",
            key=f"cancel.{job.id}",
            help="Stop the analysis; nothing is saved.",
            disabled=job.cancel_requested,
            on_click=_cancel,
            args=(job.id,),
        )
