"""Analyze: upload a video or paste a link, score it, explore the results."""

import streamlit as st

from core.config import EventConfig, ScoringConfig
from core.sources import VIDEO_EXTS
from ui import results, state
from ui.analysis_runner import run_analysis
from ui.model_picker import model_picker

st.title("Analyze a video")

cancelled = state.interrupted_run()
if cancelled:
    st.info(f"The analysis of {cancelled} was cancelled; nothing was saved.")

with st.container(border=True):
    left, right = st.columns([3, 2])
    with right:
        spec = model_picker("analyze.model")
        model = spec.name if spec else None
        with st.expander("Settings"):
            fps = st.slider(
                "Analysis frames per second",
                1.0,
                30.0,
                10.0,
                1.0,
                key="analyze.fps",
                help="Frames are resampled to this rate before scoring; lower is faster.",
            )
            threshold = st.slider(
                "Threshold",
                0.05,
                0.95,
                0.5,
                0.01,
                key="analyze.threshold",
                help="Segments are cut where the smoothed score is above this (0.5 = unusual).",
            )
    with left:
        upload_tab, link_tab = st.tabs(["Upload a video", "Paste a link"])
        with upload_tab:
            upload = st.file_uploader(
                "Video file",
                type=sorted(e.lstrip(".") for e in VIDEO_EXTS),
                key="analyze.upload",
                help="Up to 1 GB. mp4, avi, mkv, mov, mpg, webm…",
            )
            go_upload = st.button(
                "Analyze upload", type="primary", disabled=upload is None or model is None, key="analyze.go_upload"
            )
        with link_tab:
            url = st.text_input(
                "Link",
                placeholder="https://www.youtube.com/watch?v=…  or a direct .mp4 link",
                key="analyze.url",
                help="YouTube or any site yt-dlp supports, or a direct video URL.",
            )
            go_link = st.button(
                "Analyze link", type="primary", disabled=not url or model is None, key="analyze.go_link"
            )

scoring = ScoringConfig(fps=fps)
events = EventConfig().with_threshold(threshold)
rec = None
if go_upload and upload is not None and model:
    rec = run_analysis(
        upload.getvalue(),
        model,
        scoring,
        events,
        label=upload.name,
        name=upload.name,
        source_uri=f"upload:{upload.name}",
    )
elif go_link and url and model:
    rec = run_analysis(url.strip(), model, scoring, events, label=url.strip(), source_uri=url.strip(), link=True)
if rec is not None:
    state.set_current_analysis(rec.id)

current = state.current_analysis()
if current:
    results.render(current, key="analyze")
else:
    st.info("Upload a video or paste a link, then press **Analyze**. Past analyses are in the History.")
