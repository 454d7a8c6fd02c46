"""Archive: score a server folder (or History's videos) in the background, then review the most anomalous
segments of the whole batch. A job is a process of its own recorded in the store, so it keeps running
across page reloads and closed tabs, and any session can follow or cancel it."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from core.batch import BatchItem, BatchJob, JobStore, collect_videos, launch
from core.batch.jobs import default_owner
from core.errors import VigilError
from core.images import jpeg_data_uri
from core.labels import allowed_roots
from ui import state
from ui.archive_view import (
    RANKING_ROW_PX,
    WRAP_ROW_PX,
    batch_label,
    finished_fraction,
    footage_text,
    hopeless_text,
    item_name,
    last_run_text,
    no_segment_text,
    owner_text,
    progress_text,
    resume_label,
    speed_text,
    video_rows,
)
from ui.auth import identity
from ui.cache import get_store
from ui.charts import mmss
from ui.model_picker import model_picker

# Material icons, not emoji: Debian's chromium has no emoji font and draws an empty box (as on the Live page).
# A select box shows its options as plain text, so the picker names the state in words and the icon goes on
# the progress header below it.
STATE_ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/play_circle:",
    "done": ":material/check_circle:",
    "cancelled": ":material/stop_circle:",
    "failed": ":material/error:",
    "interrupted": ":material/warning:",
}

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
    return batch_label(by_id[job_id], owner=owner_text(by_id[job_id].owner, who))


# the browser keeps a keyed select box's shown label when only its wording changes: a new key when a batch ends
running = sum(j.active for j in all_jobs)
chosen = st.selectbox(
    "Batch",
    ids,
    index=ids.index(wanted) if wanted in by_id else 0,
    format_func=describe,
    key=f"archive.job.{wanted}.{running}",
    help=f"Started (UTC) · {'who started it · ' if who.email else ''}model · engine · where it stands.",
)
if chosen != wanted:
    st.query_params["job"] = chosen


def job_status(job: BatchJob, items: list[BatchItem]) -> None:
    st.progress(finished_fraction(job), text=f"{STATE_ICONS.get(job.status, '')} {progress_text(job)}".lstrip())
    failed = job.counts["failed"]
    if failed and not job.active:
        st.warning(f"{failed} of {job.total} videos could not be scored: the reasons are under the Videos table.")
    footage = sum(i.footage for i in items if i.status == "done")  # s of video, over every run of this job
    # over every run that ended (a resume that scored nothing keeps it); none while a run may still change it
    speed = None if job.active else job.footage_hours_per_hour
    c = st.columns(5)
    c[0].metric("Scored", job.counts["done"])
    c[1].metric("Already stored", job.counts["skipped"])
    c[2].metric("Failed", failed)
    # short labels: at 1024 px a fifth of the page holds ~12 characters beside the help icon
    c[3].metric("Footage", footage_text(footage), help=f"{footage:.1f} s of video scored by this batch.")
    c[4].metric(
        "Throughput",
        speed_text(speed) if speed is not None else "…" if job.active else "—",
        help=(
            f"{speed:.2f} hours of video scored per hour of wall time ({speed_text(speed)} real time), "
            "once the workers were up, over every run of this batch."
            if speed is not None
            else "Hours of video scored per hour of wall time (× real time), shown when a run that scored videos ends."
        ),
    )
    owner = owner_text(job.owner, who)
    st.caption(
        (f"Started by **{owner}** · " if owner else "")
        + f"model **{job.model}** · engine **{job.engine}**"
        + (f" ({job.workers} workers)" if job.workers else "")
        + f" · from {', '.join(job.inputs)} · job `{job.id}`"
    )
    if last_run := last_run_text(job):
        st.info(last_run, icon=":material/replay:")
    if job.error:
        st.error(job.error)
    if job.status == "interrupted":
        st.warning("The process running this batch stopped (killed or the server restarted). Resume it below.")
    log = store.db.root / "batch-logs" / f"{job.id}.log"
    if job.status in ("failed", "interrupted") and log.is_file():
        st.caption(f"Its log: `{log}`")
    if not who.may_manage(job.owner):
        st.caption(f"Only who started it ({owner}) or an admin can cancel or resume this batch.")
        return
    if job.active and st.button("Cancel", key=f"archive.cancel.{job.id}", help="Finished videos stay stored."):
        jobs.request_cancel(job.id)
        st.rerun()
    hopeless = sum(i.hopeless for i in items)  # core stored, for each failure, whether a retry may pass
    label = resume_label(job, hopeless)  # offered only where a video may still score, saying which
    if label and st.button(label, key=f"archive.resume.{job.id}", help="Scores only these; the rest stays as it is."):
        jobs.reopen(job.id)
        launch(job.id, store.db)
        st.rerun()


def items_table(job: BatchJob, items: list[BatchItem]) -> None:
    st.markdown(f"#### Videos ({len(items)})")
    peaks = jobs.video_peaks([i.analysis_id for i in items if i.analysis_id])
    names = {path: name for path, _, name in store.videos()}  # uploads: the name given, not the hashed file's
    st.dataframe(
        pd.DataFrame(
            video_rows(items, peaks, names)
            | {"open": [history_link(i.analysis_id) if i.analysis_id else "" for i in items]}  # no link, no "None"
        ),
        hide_index=True,
        width="stretch",
        row_height=WRAP_ROW_PX,
        key=f"archive.items.{job.id}",
        placeholder="—",  # no peak (failed, running): a dash, not the word None
        # what a glance needs first (name, status, link, how anomalous) fits the ~560 px of a 1024 px window;
        # the path may run past it. A failure's reason is not a column: it is in full in the list under the table
        column_order=["video", "status", "open", "peak", "at", "length", "scored in", "tries", "path"],
        column_config={
            "video": st.column_config.TextColumn("video", width=144),
            "status": st.column_config.TextColumn("status", width=68),
            "open": st.column_config.LinkColumn("open", display_text="results", width=60),
            "peak": st.column_config.NumberColumn(
                "peak", format="%.2f", width=48, help="The video's highest anomaly score, 0..1 (click to sort)."
            ),
            "at": st.column_config.TextColumn("at", width=60, help="When in the video its peak is (m:ss.s)."),
            "length": st.column_config.TextColumn("length", width=56, help="How long the video is (m:ss.s)."),
            "scored in": st.column_config.TextColumn(
                "scored in",
                width=64,
                help="Seconds this batch took to score the video (empty when it was already stored).",
            ),
            "tries": st.column_config.NumberColumn("tries", width=40),
        },
    )
    failures = [i for i in items if i.status == "failed"]
    if failures:
        with st.expander(f"Why {len(failures)} video(s) failed", expanded=len(failures) <= 5):
            # plain text: file names and ffmpeg's words may hold *, [ or ` that Markdown would garble
            st.text("\n".join(f"• {item_name(i.source, names)}: {i.reason}" for i in failures))
            if hopeless := hopeless_text(items, names):
                st.caption(hopeless)


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
                "peak": [round(r.segment.peak, 2) for r in ranked],  # as the results print it (f"{x:.2f}")
                "at": [mmss(r.segment.peak_t) for r in ranked],
                "segment": [f"{mmss(r.segment.start)} – {mmss(r.segment.end)}" for r in ranked],  # breaks in two
                "cause": [r.cause for r in ranked],
                "open": [history_link(r.analysis_id, r.segment.peak_t) for r in ranked],
            }
        ),
        hide_index=True,
        width="stretch",
        row_height=RANKING_ROW_PX,
        key=f"archive.ranking.{job.id}",
        # every column sized so that the table fits a 1024 px window beside the sidebar (~560 px): the link
        # first (an icon), the times in full, and the free text (file name, cause) wrapped onto up to four lines
        column_order=["thumbnail", "open", "video", "peak", "at", "segment", "cause"],
        column_config={
            "thumbnail": st.column_config.ImageColumn("thumbnail", width=72),
            # words, not an icon: the table is drawn on a canvas, where a Material icon comes out as broken glyphs
            "open": st.column_config.LinkColumn(
                "open", display_text="play", width=44, help="Open the results at this moment, in a new tab."
            ),
            "video": st.column_config.TextColumn(
                "video", width=152, help="The file's name; its folder is in the batch's sources above."
            ),
            # a number: a bar this narrow is a few pixels long, and the rows are already ranked by it
            "peak": st.column_config.NumberColumn("peak", format="%.2f", width=48, help="Peak anomaly score, 0..1."),
            "at": st.column_config.TextColumn("at", width=60, help="The moment of the segment's peak."),
            "segment": st.column_config.TextColumn("segment", width=64),  # 62:03.1 – / 62:09.4
            "cause": st.column_config.TextColumn("cause", width=88),
        },
        on_select=state.make_cell_as_row(f"archive.ranking.{job.id}", skip=("open",)),
        selection_mode=state.ROW_CLICK_MODES,
    )
    st.caption("Click a row to open the results at that moment here, or its **play** link to open them in a new tab.")
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
