"""Analyze: upload a video or paste a link, score it, explore the results."""

import streamlit as st

from core.config import EventConfig, ScoringConfig
from core.sources import upload_problem
from ui import results, state
from ui.analysis_runner import (
    analyses_running,
    failed_now,
    show_compare_jobs,
    show_interrupted,
    show_jobs,
    start_analysis,
    take_compared,
)
from ui.cache import get_store, warm_object_namer
from ui.model_picker import model_picker

st.title("Analyze a video")
warm_object_namer()  # while the user picks a file: the first analysis then does not wait for it at the end

with st.container(border=True):
    left, right = st.columns([3, 2])
    with right:
        # kept across pages: back during a run, the picker must not say vigil while the run scores with another
        spec = model_picker("analyze.model", preferred=state.kept("analyze.model", None))
        state.keep("analyze.model", st.session_state.get("analyze.model"))
        model = spec.name if spec else None
        with st.expander("Settings"):
            fps = st.slider(
                "Analysis frames per second",
                1.0,
                30.0,
                state.kept("analyze.fps", 10.0),
                1.0,
                format="%.0f",  # whole frames a second: "10", not "10.00"
                key="analyze.fps",
                help="Frames are resampled to this rate before scoring; lower is faster.",
            )
            threshold = st.slider(
                "Starting threshold",
                0.05,
                0.95,
                state.kept("analyze.threshold", 0.5),
                0.01,
                key="analyze.threshold",
                help="Segments are cut where the smoothed score is above this (0.5 = unusual); the results' own "
                "Threshold starts here and can be moved afterwards.",
            )
    with left:
        upload_tab, link_tab = st.tabs(["Upload a video", "Paste a link"])
        with upload_tab:
            # no type filter: a file the browser refused showed only a red chip (its reason on hover) under the last
            # run's message; a picked file reruns the page, which then says in words what is wrong with it
            upload = st.file_uploader(
                "Video file",
                key="analyze.upload",
                help="Up to 1 GB. mp4, avi, mkv, mov, mpg, webm…",
            )
            refused = upload_problem(upload.name) if upload is not None else None
            if refused:
                st.error(refused)
            go_upload = st.button(
                "Analyze upload",
                type="primary",
                disabled=upload is None or model is None or refused is not None,
                key="analyze.go_upload",
            )
            # whose results are below, while another file is chosen: under the button, where this run draws it before
            # waiting on a started analysis (lower down, the last run's hint stayed on screen through that wait and
            # asked for the click just made)
            other_file = st.empty()
        # a form: Enter in the box submits it, as a user expects of a search-box-like field
        with link_tab, st.form("analyze.link_form", border=False):
            url = st.text_input(
                "Link",
                placeholder="https://www.youtube.com/watch?v=…  or a direct .mp4 link",
                key="analyze.url",
                help="YouTube or any site yt-dlp supports, or a direct video URL. Press Enter or the button.",
            )
            go_link = st.form_submit_button(
                "Analyze link", type="primary", disabled=model is None, key="analyze.go_link"
            )
        # progress, Cancel and errors right under the buttons: below the form they fell under a laptop's fold
        run_area = st.container()

state.keep("analyze.fps", fps)
state.keep("analyze.threshold", threshold)
scoring = ScoringConfig(fps=fps)
events = EventConfig().with_threshold(threshold)
started = None
with run_area:
    if go_link and not (url or "").strip():
        st.warning("Paste a link first: a YouTube page or a direct video URL.")
        go_link = False
    if (go_upload and upload is not None and model) or (go_link and model):
        state.clear_for_run()  # a failed run must not leave the last video's results under its error
    if go_upload and upload is not None and model:
        started = start_analysis(
            upload.getvalue(),
            model,
            scoring,
            events,
            label=upload.name,
            name=upload.name,
            source_uri=f"upload:{upload.name}",
        )
    elif go_link and model:
        started = start_analysis(
            url.strip(), model, scoring, events, label=url.strip(), source_uri=url.strip(), link=True
        )
    show_interrupted("analyze")  # ended by a server restart: said here, with Run again and Dismiss
    # the user's analyses run as server jobs: this run's, and any still going after a reload or a page switch
    open_id = state.current_analysis()
    # no results view open to take them (a reloaded tab): Compare runs that ended are taken and told here, before
    # show_jobs' poller, which reruns the page while one is left to take
    compared = take_compared() if open_id is None else []
    rec = show_jobs(started, shown=open_id)
    show_compare_jobs(None, compared)
if rec is not None:
    state.set_current_analysis(rec.id, rec.source_name)
    results.start_view(rec.id, rec.events, key="analyze")  # the settings it was started with, also when reused

current = state.current_analysis()
if current and not get_store().exists(current):  # deleted since it was opened (on History, or in another tab)
    gone = state.current_label()
    state.set_current_analysis(None)  # forgotten: said once, not on every rerun
    current = None
    st.info(
        f"The analysis of **{gone}** that was open here has been deleted."
        if gone
        else "The analysis that was open here has been deleted."
    )
if current:
    shown = state.current_label()
    if upload is not None and shown and upload.name != shown and not go_upload:
        other_file.caption(f"Below: the results of **{shown}**. Press **Analyze upload** to score {upload.name}.")
    results.render(current, key="analyze")
elif analyses_running():
    st.info("The results open here when the analysis ends; meanwhile, past analyses are in the History.")
elif failed_now() or refused:  # under its error: a hint that does not ask for the very upload just refused
    st.info("Pick another video or link (or fix this one) and analyse again. Past analyses are in the History.")
else:
    st.info("Upload a video or paste a link, then press **Analyze**. Past analyses are in the History.")
