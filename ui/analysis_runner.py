"""Running an analysis from a page as a server-side job (Analyze; Compare in the results), with progress, cancel,
and the analyses a server restart interrupted (run again, dismiss)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from core.config import EventConfig, ScoringConfig
from core.engine import Progress, analyze
from core.errors import AnalysisCancelled, NotFoundError, SourceError, VigilError
from core.media import playable_video
from core.netguard import strip_credentials
from core.running import GONE, AnalysisRequest, RunningAnalyses, RunningAnalysis, check_rerun
from core.scorers.base import Scorer
from core.sources import check_url, discard_upload, open_source, save_upload
from core.store import AnalysisRecord, Store, check_storage
from ui import state
from ui.auth import identity
from ui.cache import get_scorer, get_store, job_registry
from ui.charts import mmss
from ui.jobs import CancelledFn, JobView, ReportFn

INLINE_WAIT_S = 1.5  # a reused or tiny analysis opens in the click's own run, without a progress bar flashing by
POLL_S = 1.0  # how often a page showing running analyses looks at them
CANCEL_WAIT_S = 5.0  # Cancel waits this long for the job to stop, so its message comes with the click
_FAILED_NOW = "analyze.failed_now"  # True on the run that showed an analysis's error (set by every show_jobs)
_STARTED = "analyze.started_at"  # job id -> when this session started it (UTC): a record older than that was reused


def progress_text(label: str, p: Progress, model: str | None = None) -> str:
    """The line under the progress bar: frames, frames/s and time left while scoring, then the stage in words.
    ``model``: the model's name and version ("objects v1"), said so a page reopened mid-run shows what is scoring."""
    with_model = f" with {model}" if model else ""
    if p.stage:  # after the last frame: the step under way, not a stale frame count and time left
        return f"{label}{with_model}: {p.frames} frames scored · {p.stage}…"
    left = f" · {mmss(p.eta)} left" if p.eta is not None else ""
    return f"Scoring {label}{with_model}: {p.frames} frames · {p.fps:.0f} frames/s{left}"


def model_words(model: str, scorer: Scorer) -> str:
    """'objects v1': the model as the results header names it (the version without its weights hash)."""
    return f"{model} v{scorer.info.version.split(':')[0]}"


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
    upload: bool = False,
) -> AnalysisRecord:
    """Download/open, score, store, prepare playback. No Streamlit: it runs in a job's thread too.

    ``report(fraction 0..1, text)`` gets each progress line; ``cancelled()`` True stops the run with AnalysisCancelled
    if nothing is stored yet (once stored, it finishes). Raises VigilError with a user-readable message; a rejected
    upload (bytes, or ``upload``: ``source`` is the path ``save_upload`` kept them at) is not kept.
    """
    src = None
    try:
        check_storage(store.db)  # a read-only or full data folder says so before the work starts
        if link:
            source = check_url(str(source))
        src = open_source(source, name=name, progress=report, cancelled=cancelled)  # a download stops at Cancel too
        if cancelled is not None and cancelled():  # cancelled as the download ended: it stays in its cache
            raise AnalysisCancelled("Analysis cancelled; nothing was saved.")
        rec = analyze(
            src,
            model=model,
            scoring=scoring,
            events=events,
            store=store,
            progress=lambda p: report(p.fraction, progress_text(label, p, model_words(model, scorer))),
            cancel=cancelled,
            scorer=scorer,
            source_uri=source_uri,
            owner=owner,
        )
    except SourceError:
        kept = Path(source) if upload else src.path if isinstance(source, bytes) and src is not None else None
        if kept is not None:
            discard_upload(kept, referenced=store.uses_video(str(kept)))  # rejected: not kept
        raise
    report(1.0, f"{label}: preparing playback in the browser (H.264)…")
    try:
        playable_video(src)  # transcode once now so reopening from History plays at once
    except (OSError, ValueError):
        pass  # playback is a convenience; the analysis itself is stored
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
    overlay_on: str | None = None,
    upload: bool = False,
) -> str | None:
    """Start analysing as a job of this user that outlives the page run (reload, page switch); returns its id.

    The model is loaded here, in the page run (its spinner shows; the cache is shared), so the job needs no
    Streamlit. Uploaded bytes are kept on disk here too, before the job is recorded in the store (``core/running``):
    a server restart can then run it again. ``upload``: ``source`` is a path already kept that way (Run again).
    Progress, Cancel and the outcome: ``show_jobs``; for a Compare run (``overlay_on``: the analysis id it is
    overlaid on) ``take_compared`` and ``show_compare_jobs``. A model that cannot load: st.error, None.
    """
    label = strip_credentials(label)  # the link's user:pass is for the download only, never shown
    try:
        scorer = get_scorer(model)
    except VigilError as err:
        st.error(str(err))
        return None
    store, owner = get_store(), identity().owner
    refused: Exception | None = None  # an upload that could not be kept: told as the run's outcome, like any failure
    if isinstance(source, bytes | bytearray):
        upload = True
        try:
            with st.spinner("Keeping the upload…"):
                source = save_upload(bytes(source), name or "upload.mp4")
            name = name or "upload"  # the name the analysis is filed under, as for bytes opened in the job
        except (VigilError, OSError) as err:
            refused = err
    request = None
    if refused is None:
        request = AnalysisRequest.of(
            owner, label, model, scoring, events, source, source_uri, name, link, upload, overlay_on
        )

    def work(report: ReportFn, cancelled: CancelledFn) -> AnalysisRecord:
        if refused is not None:
            raise refused
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
            upload=upload,
        )

    journal = RunningAnalyses(store.db) if request is not None else None
    started = datetime.now(UTC)
    job_id = job_registry().start(
        owner, state.session_token(), label, work, overlay_on=overlay_on, journal=journal, request=request
    )
    st.session_state.setdefault(_STARTED, {})[job_id] = started
    return job_id


def reused_text(rec: AnalysisRecord, started: datetime | None, tz: str | None = None) -> str | None:
    """'Already analysed on Nov 21, 23:58 …' when ``rec`` was stored before its run ``started`` (the engine found
    the same video, model and frame rate stored and returned that), else None: a run that returns at once with an
    old date and no word reads as if Analyze did nothing."""
    from ui.results import when_text  # ui.results imports this module

    created = datetime.fromisoformat(rec.created_at)
    created = created if created.tzinfo else created.replace(tzinfo=UTC)  # stored in UTC
    if started is None or created >= started.replace(microsecond=0):  # stored to the second
        return None
    return (
        f"Already analysed on {when_text(rec.created_at, tz)} with the same model and settings: showing that "
        "result, without scoring it again."
    )


def show_jobs(started: str | None = None, shown: str | None = None) -> AnalysisRecord | None:
    """Show this user's analyses: each ended one's outcome once (an error, a cancellation), running ones with live
    progress and Cancel (polled). Returns the record of the last one that finished, to open.

    ``started``: a job this run just started; waited for ``INLINE_WAIT_S`` so a quick one opens at once.
    ``shown``: the analysis open under it, whose own Compare runs its results view shows (``show_compare_jobs``);
    Compare runs on other analyses (a reloaded tab opens none) are listed here so the user sees them go on.
    """
    registry, owner, session = job_registry(), identity().owner, state.session_token()
    if started:
        registry.wait(owner, started, INLINE_WAIT_S)
    rec, st.session_state[_FAILED_NOW] = None, False
    for job in registry.take_finished(owner, session, compare=False):
        state.run_ended(cancelled=job.state == "cancelled")
        started = st.session_state.get(_STARTED, {}).pop(job.id, None)
        if job.state == "done":
            rec = job.record
            if rec is not None and (reused := reused_text(rec, started, _viewer_timezone())):
                st.info(reused, icon=":material/history:")
        elif job.state == "failed":
            st.error(job.error)
            st.session_state[_FAILED_NOW] = True
        else:
            st.info(f"The analysis of {job.label} was cancelled; nothing was saved.")
    if any(not _overlays(job, shown) for job in registry.jobs(owner)):
        _running_jobs(compare=False, shown=shown)
    return rec


def failed_now() -> bool:
    """True when the last ``show_jobs`` of this run showed an analysis's error (the page's hint then must not ask
    for the upload just made as if nothing had happened)."""
    return bool(st.session_state.get(_FAILED_NOW))


def show_interrupted(key: str) -> None:
    """This user's analyses that a server restart interrupted (never another user's), each with **Run again** (the
    same source, model and settings, as a new job shown as running) and **Dismiss** (drops the record, and an upload
    no stored or recorded analysis uses). A source that is gone is said in words; the record can still be dismissed.
    Interrupted analyses past ``settings().interrupted_keep_days`` (any user's) are forgotten here without a word.
    ``key``: the page's prefix for widget keys."""
    store, owner = get_store(), identity().owner
    runs = RunningAnalyses(store.db)
    try:
        for old in runs.forget_expired():
            _discard_upload_of(old, runs, store)
        interrupted = runs.interrupted(owner)
    except VigilError as err:  # an unreadable store is told once here; the page goes on
        st.error(str(err))
        return
    for run in interrupted:
        what = "comparison" if run.request.overlay_on else "analysis"
        st.warning(
            f"The {what} of {run.request.label} was interrupted by a server restart at {run.fraction * 100:.0f} %.",
            icon=":material/restart_alt:",
        )
        row = st.container(horizontal=True)
        again = row.button("Run again", key=f"{key}.again.{run.id}", help="Start it again from the beginning.")
        drop = row.button("Dismiss", key=f"{key}.dismiss.{run.id}", help="Forget it; nothing is run.")
        try:
            if again and _run_again(runs, run, store):
                st.rerun()  # shown as running from the next run on, with progress and Cancel
            if drop:
                _dismiss(runs, run, store)
                st.rerun()
        except VigilError as err:
            st.error(str(err))


def _run_again(runs: RunningAnalyses, run: RunningAnalysis, store: Store) -> bool:
    """Start ``run`` again as a new job; its old record goes once the new one is started. Raises VigilError when its
    source is gone (the record stays, to be dismissed); False when the model cannot load (st.error said so)."""
    r = run.request
    if run.id not in {other.id for other in runs.interrupted(r.owner)}:  # run again or dismissed in another tab
        raise NotFoundError(GONE)
    check_rerun(run, store.exists(r.overlay_on) if r.overlay_on else None)
    if r.overlay_on is None:
        state.clear_for_run()  # as a run started on Analyze: its results replace what is shown there
    started = start_analysis(
        r.source,
        r.model,
        r.scoring,
        r.events,
        label=r.label,
        source_uri=r.source_uri,
        name=r.name,
        link=r.link,
        overlay_on=r.overlay_on,
        upload=r.upload,
    )
    if started is None:
        return False
    runs.end(run.id)
    return True


def _dismiss(runs: RunningAnalyses, run: RunningAnalysis, store: Store) -> None:
    """Drop ``run``'s record and its upload when nothing else uses that file."""
    runs.dismiss(identity().owner, run.id)
    _discard_upload_of(run, runs, store)


def _discard_upload_of(run: RunningAnalysis, runs: RunningAnalyses, store: Store) -> None:
    """Delete the kept upload of ``run`` (whose record is gone) unless a stored or recorded analysis uses it."""
    if run.request.upload:
        path = Path(run.request.source)
        discard_upload(path, referenced=store.uses_video(str(path)) or runs.uses_video(path))


def _viewer_timezone() -> str | None:
    from ui.results import viewer_timezone  # ui.results imports this module

    return viewer_timezone()


def analyses_running() -> bool:
    """True while this user has an analysis under way (or ended and not yet collected); Compare runs not counted."""
    return any(job.overlay_on is None for job in job_registry().jobs(identity().owner))


def take_compared() -> list[JobView]:
    """Collect this user's ended Compare runs, once: each done one is overlaid on its analysis from now on in this
    session (``state.add_compared``), also when it was started before a reload. Returns them all for
    ``show_compare_jobs`` to tell. Call it before the chart is drawn, so a run that just ended is on it."""
    ended = job_registry().take_finished(identity().owner, state.session_token(), compare=True)
    for job in ended:
        if job.state == "done" and job.overlay_on and job.record is not None:
            state.add_compared(job.overlay_on, job.record.id)
    return ended


def show_compare_jobs(analysis_id: str | None, ended: list[JobView]) -> None:
    """Under the results of ``analysis_id``: the outcomes ``take_compared`` collected (errors, cancellations, once)
    and its Compare runs under way with progress and Cancel (polled). None: Analyze with no results open."""
    for job in ended:
        if job.state == "failed":
            st.error(job.error)
        elif job.state == "cancelled":
            st.info(f"The comparison of {job.label} was cancelled; nothing was saved.")
        elif job.overlay_on != analysis_id:  # done, on an analysis not open: say where it is
            st.info(
                f"The comparison of {job.label} is done: open the analysis it was started from (History) to see "
                "it overlaid."
            )
    if any(_overlays(job, analysis_id) for job in job_registry().jobs(identity().owner)):
        _running_jobs(compare=True, shown=analysis_id)


def wait_briefly(job_id: str) -> None:
    """Wait up to ``INLINE_WAIT_S`` for a job just started: a reused or tiny analysis then opens without a bar."""
    job_registry().wait(identity().owner, job_id, INLINE_WAIT_S)


def _overlays(job: JobView, analysis_id: str | None) -> bool:
    """True for a Compare run on ``analysis_id`` (None: on no open analysis, so never)."""
    return analysis_id is not None and job.overlay_on == analysis_id


def _cancel(job_id: str) -> None:
    job_registry().cancel(identity().owner, job_id, CANCEL_WAIT_S)


@st.fragment(run_every=POLL_S)
def _running_jobs(compare: bool, shown: str | None) -> None:
    """Progress bars with Cancel, redrawn every ``POLL_S``; the whole page reruns when one has ended for us.

    ``compare`` True: the Compare runs on ``shown``; False: the other analyses, and Compare runs on other analyses.
    """
    registry, owner = job_registry(), identity().owner
    # Analyze with no analysis open takes Compare outcomes itself (take_compared), so their end reruns it too
    kind = None if not compare and shown is None else compare
    if registry.collectable(owner, state.session_token(), compare=kind):
        st.rerun()  # the full run takes the outcome: results under the form, an overlay, an error, a cancellation
    for job in registry.jobs(owner):
        if job.state != "running" or compare != _overlays(job, shown):
            continue  # ended (kept a moment for the session that started it), or shown by the other list
        st.progress(job.fraction, text="Cancelling…" if job.cancel_requested else job.text)
        st.button(
            "Cancel",
            key=f"cancel.{'cmp' if compare else 'run'}.{job.id}",  # never two widgets of one key, even listed twice
            help="Stop the analysis; nothing is saved.",
            disabled=job.cancel_requested,
            on_click=_cancel,
            args=(job.id,),
        )
