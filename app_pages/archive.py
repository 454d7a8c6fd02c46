"""Archive: score a server folder (or History's videos) in the background, then review the most anomalous
segments of the whole batch. A job is a process of its own recorded in the store, so it keeps running
across page reloads and closed tabs, and any session can follow or cancel it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from core.batch import BatchItem, BatchJob, JobStore, collect_videos, launch
from core.batch.jobs import default_owner
from core.errors import VigilError
from core.images import jpeg_data_uri
from core.labels import allowed_roots
from ui.archive_view import (
    batch_label,
    finished_fraction,
    footage_text,
    no_segment_text,
    progress_text,
    speed_text,
)
from ui.auth import identity
from ui.cache import get_store
from ui.charts import mmss
from ui.model_picker import model_picker

STATE_ICONS = {"queued": "⏳", "running": "▶️", "done": "✅", "cancelled": "⏹️", "failed": "❌", "interrupted": "⚠️"}

st.title("Archive")
st.caption(
    "Score a whole folder of footage in the background, then review the worst moments of all videos at once. "
    "Each result is stored as Analyze stores it (History shows it); videos already scored with the same model "
    "and settings are not scored again."
)

store = get_store()
jobs = JobStore(store.db)
who = identity()


def history_link(analysis_id: str, t: float | None = None) -> str:
    """The results view of one analysis, at moment ``t`` (s) when given."""
    params = {"id": analysis_id} | ({"t": f"{t:.2f}"} if t is not None else {})
    return "history?" + urlencode(params)


def remember_folder() -> None:
    """Keep the folder in the URL (``?folder=``), as ``?job=`` keeps the batch: a reload loses session state."""
    if folder := st.session_state.get("archive.folder", "").strip():
        st.query_params["folder"] = folder
    else:
        st.query_params.pop("folder", None)


# --- a new batch --------------------------------------------------------------------------------------
if "archive.folder" not in st.session_state:  # a new session (a reload, a shared link): the folder of the URL
    st.session_state["archive.folder"] = st.query_params.get("folder", "")
# open while there is nothing to review, or when the URL carries a folder (a reload of a half-filled form),
# until a batch is started in this session
open_form = not st.session_state.get("archive.started") and ("folder" in st.query_params or not jobs.list(limit=1))
with st.expander("New batch", expanded=open_form):
    roots = allowed_roots()
    what = st.radio("Videos", ["Server folder", "Videos of History"], horizontal=True, key="archive.what")
    folder = ""
    if what == "Server folder":
        folder = st.text_input(
            "Folder on the server",
            key="archive.folder",
            on_change=remember_folder,
            placeholder=str(roots[0]) if roots else "",
            help="Searched recursively; a folder of numbered images is one video. Allowed folders: "
            + ", ".join(str(r) for r in roots),
        )
    c1, c2, c3 = st.columns([2, 1, 1])
    with c1:
        spec = model_picker(key="archive.model")
        model = spec.name if spec else None
    engine = c2.radio(
        "Engine",
        ["local", "ray"],
        key="archive.engine",
        help="local: worker processes on this server. ray: the Ray cluster at RAY_ADDRESS, or Ray on this server.",
    )
    workers = c3.number_input(
        "Workers", 0, 4096, 0, key="archive.workers", help="0 = every core of this server (or of the cluster)"
    )
    if st.button("Start batch", type="primary", key="archive.start", disabled=model is None):
        try:
            if what == "Server folder":
                sources = collect_videos([folder], roots=roots)
                inputs = [folder]
            else:
                sources = [path for path, _, _ in store.videos()]
                inputs = ["History"]
                if not sources:
                    raise VigilError("History holds no video yet: analyse one first, or choose a server folder.")
            owner = who.owner or default_owner()  # the signed-in address, else the server's user
            job_id = jobs.create(sources, model, engine, int(workers) or None, owner=owner, inputs=inputs)
            launch(job_id, store.db)
            st.session_state["archive.started"] = True
            st.query_params["job"] = job_id
            if what == "Server folder":
                st.query_params["folder"] = folder
            st.toast(f"Batch of {len(sources)} video(s) started")
        except VigilError as err:
            st.error(str(err))


# --- the jobs -----------------------------------------------------------------------------------------
all_jobs = jobs.list()
if not all_jobs:
    st.info("No batch yet. Start one above, or from a terminal: `python -m core batch FOLDER`.")
    st.stop()

by_id = {j.id: j for j in all_jobs}
wanted = st.query_params.get("job")
ids = list(by_id)


def describe(job_id: str) -> str:
    return batch_label(by_id[job_id], STATE_ICONS.get(by_id[job_id].status, ""))


# the browser keeps a keyed select box's shown label when only its wording changes: a new key when a batch ends
running = sum(j.active for j in all_jobs)
chosen = st.selectbox(
    "Batch",
    ids,
    index=ids.index(wanted) if wanted in by_id else 0,
    format_func=describe,
    key=f"archive.job.{wanted}.{running}",
)
if chosen != wanted:
    st.query_params["job"] = chosen


def job_status(job: BatchJob, items: list[BatchItem]) -> None:
    st.progress(finished_fraction(job), text=progress_text(job))
    failed = job.counts["failed"]
    if failed and not job.active:
        st.warning(f"{failed} of {job.total} videos could not be scored: the reasons are under the Videos table.")
    footage = sum(i.footage for i in items if i.status == "done")  # s of video, over every run of this job
    # the speed of the last run, once it scored something (a run of stored videos only has no speed)
    # (a resumed batch still holds the summary of its run before: no speed while it runs again)
    speed = job.summary.get("footage_hours_per_hour", 0.0) if job.summary.get("footage_hours") else None
    speed = None if job.active else speed
    c = st.columns(5)
    c[0].metric("Scored", job.counts["done"])
    c[1].metric("Already stored", job.counts["skipped"])
    c[2].metric("Failed", failed)
    c[3].metric("Footage scored", footage_text(footage), help=f"{footage:.1f} s of video scored by this batch.")
    c[4].metric(
        "Throughput",
        speed_text(speed) if speed is not None else "…" if job.active else "—",
        help=(
            f"{speed:.2f} hours of video scored per hour of wall time ({speed_text(speed)} real time), "
            "once the workers were up."
            if speed is not None
            else "Hours of video scored per hour of wall time (× real time), shown when a run that scored videos ends."
        ),
    )
    st.caption(
        f"Owner **{job.owner}** · model **{job.model}** · engine **{job.engine}**"
        + (f" ({job.workers} workers)" if job.workers else "")
        + f" · from {', '.join(job.inputs)} · job `{job.id}`"
    )
    if job.error:
        st.error(job.error)
    if job.status == "interrupted":
        st.warning("The process running this batch stopped (killed or the server restarted). Resume it below.")
    log = store.db.root / "batch-logs" / f"{job.id}.log"
    if job.status in ("failed", "interrupted") and log.is_file():
        st.caption(f"Its log: `{log}`")
    b1, b2 = st.columns(2)
    if not who.may_manage(job.owner):
        st.caption(f"Only its owner ({job.owner}) or an admin can cancel or resume this batch.")
        return
    if job.active and b1.button("Cancel", key=f"archive.cancel.{job.id}", help="Finished videos stay stored."):
        jobs.request_cancel(job.id)
        st.rerun()
    left = job.counts["pending"] + job.counts["failed"] + job.counts["running"]
    if not job.active and left and b2.button("Resume", key=f"archive.resume.{job.id}", help="Only what is left."):
        jobs.reopen(job.id)
        launch(job.id, store.db)
        st.rerun()


def items_table(job: BatchJob, items: list[BatchItem]) -> None:
    st.markdown(f"#### Videos ({len(items)})")
    st.dataframe(
        pd.DataFrame(
            {
                "video": [Path(i.source).name or i.source for i in items],
                "status": [i.status for i in items],
                "reason": [i.reason for i in items],
                "tries": [i.attempts for i in items],
                "seconds": [round(i.seconds, 1) for i in items],
                "open": [history_link(i.analysis_id) if i.analysis_id else "" for i in items],  # no link, no "None"
                "path": [i.source for i in items],
            }
        ),
        hide_index=True,
        width="stretch",
        key=f"archive.items.{job.id}",
        column_config={
            "reason": st.column_config.TextColumn("reason", width="large", help="Why a video failed (in full below)."),
            "open": st.column_config.LinkColumn("open", display_text="results"),
        },
    )
    failures = [i for i in items if i.status == "failed"]
    if failures:
        with st.expander(f"Why {len(failures)} video(s) failed", expanded=len(failures) <= 5):
            # plain text: file names and ffmpeg's words may hold *, [ or ` that Markdown would garble
            st.text("\n".join(f"• {Path(i.source).name or i.source}: {i.reason}" for i in failures))


def ranking(job: BatchJob) -> None:
    ranked = store.top_segments(jobs.analysis_ids(job.id), limit=100)
    st.markdown(f"#### Most anomalous segments across the batch ({len(ranked)})")
    if not ranked:
        st.info(no_segment_text(job))
        return
    event = st.dataframe(
        pd.DataFrame(
            {
                "thumbnail": [jpeg_data_uri(r.thumbnail) for r in ranked],
                "video": [r.source_name for r in ranked],
                "peak": [round(r.segment.peak, 3) for r in ranked],
                "at": [mmss(r.segment.peak_t) for r in ranked],
                "segment": [f"{mmss(r.segment.start)}–{mmss(r.segment.end)}" for r in ranked],
                "cause": [r.cause for r in ranked],
                "open": [history_link(r.analysis_id, r.segment.peak_t) for r in ranked],
            }
        ),
        hide_index=True,
        width="stretch",
        row_height=64,
        key=f"archive.ranking.{job.id}",
        column_config={
            "thumbnail": st.column_config.ImageColumn("thumbnail", width="small"),
            "peak": st.column_config.ProgressColumn("peak", min_value=0.0, max_value=1.0, format="%.2f"),
            "open": st.column_config.LinkColumn("open", display_text="▶ play from here"),
        },
        on_select="rerun",
        selection_mode="single-row",
    )
    st.caption("Click a row (or its link, for a new tab) to open the results at that moment.")
    picked = event.selection.rows if event else []
    if picked:
        r = ranked[picked[0]]
        st.switch_page("app_pages/history.py", query_params={"id": r.analysis_id, "t": f"{r.segment.peak_t:.2f}"})


@st.fragment(run_every=2.0 if by_id[chosen].active else None)
def job_view() -> None:
    try:
        job = jobs.get(chosen)
    except VigilError as err:
        st.error(str(err))
        return
    if by_id[chosen].active and not job.active:
        st.rerun()  # it just ended: redraw the whole page, so the picker shows its counts and polling stops
    items = jobs.items(job.id)
    job_status(job, items)
    ranking(job)
    items_table(job, items)


job_view()
