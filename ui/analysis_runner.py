"""Running an analysis from a page: progress bar with frames/s and time left, cancel."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.config import EventConfig, ScoringConfig
from core.engine import Progress, analyze
from core.errors import SourceError, VigilError
from core.media import playable_video
from core.netguard import strip_credentials
from core.sources import check_url, discard_upload, open_source
from core.store import AnalysisRecord, check_storage
from ui import state
from ui.auth import identity
from ui.cache import get_scorer, get_store
from ui.charts import mmss


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
    """Download/open, score with a live progress bar, prepare playback. Errors become st.error.

    ``link=True`` (the link field) accepts http(s) links only: a path typed there is refused rather
    than read from the server's disk. A Cancel button is shown while it runs: clicking it reruns the
    page, which stops this run at the next progress update; the engine then stores nothing.
    """
    label = strip_credentials(label)  # the link's user:pass is for the download only, never shown
    state.mark_running(label)
    bar = st.progress(0.0, text=f"Opening {label}…")
    cancel = st.empty()  # removed when the run ends: a Cancel under finished results would mislead
    cancel.button("Cancel", key=f"cancel.{label}", help="Stop the analysis; nothing is saved.")

    def on_download(fraction: float, message: str) -> None:
        bar.progress(min(1.0, fraction), text=message)

    def on_progress(p: Progress) -> None:
        if p.stage:  # after the last frame: the step under way, not a stale frame count and time left
            bar.progress(p.fraction, text=f"{label}: {p.frames} frames scored · {p.stage}…")
            return
        left = f" · {mmss(p.eta)} left" if p.eta is not None else ""
        bar.progress(p.fraction, text=f"Scoring {label}: {p.frames} frames · {p.fps:.0f} frames/s{left}")

    src = None
    try:
        check_storage(get_store().db)  # a read-only or full data folder says so before the work starts
        if link:
            source = check_url(str(source))
        src = open_source(source, name=name, progress=on_download)
        rec = analyze(
            src,
            model=model,
            scoring=scoring,
            events=events,
            store=get_store(),
            progress=on_progress,
            scorer=get_scorer(model),
            source_uri=source_uri,
            owner=identity().owner,
        )
        bar.progress(1.0, text=f"{label}: preparing playback in the browser (H.264)…")
        try:
            playable_video(src)  # transcode once now so reopening from History plays at once
        except (OSError, ValueError):
            pass  # playback is a convenience; the analysis itself is stored
        bar.empty()
        cancel.empty()
        state.mark_running(None)
        return rec
    except VigilError as err:
        if isinstance(err, SourceError) and isinstance(source, bytes) and src is not None:
            discard_upload(src.path, referenced=get_store().uses_video(str(src.path)))  # rejected: not kept
        bar.empty()
        cancel.empty()
        state.mark_running(None)
        st.error(str(err))
        return None
    # Any other exit (Cancel's rerun, a stop) leaves the mark so the next run can say it was cancelled.
