"""Home: what Vigil does and which models can run right now."""

import pandas as pd
import streamlit as st

from ui.cache import model_statuses

st.title("Vigil")
st.markdown(
    "Vigil finds **anomalous behaviour** in surveillance video — fights, falls, theft, vandalism, running, "
    "bikes or carts where people walk — and shows *when* it happens: a score for every moment, the "
    "anomalous segments with timestamps, and thumbnails of the worst moments."
)
links = [
    (
        "app_pages/analyze.py",
        "Analyze",
        ":material/search:",
        "Upload a video or paste a link; get the score curve, segments and exports.",
    ),
    (
        "app_pages/history.py",
        "History",
        ":material/history:",
        "Every past analysis and alert, reopened without recomputing.",
    ),
    (
        "app_pages/live.py",
        "Live",
        ":material/videocam:",
        "Watch a webcam or stream; get an email when an anomaly lasts.",
    ),
    ("app_pages/label.py", "Label", ":material/label:", "Mark videos normal or abnormal and train a better model."),
]
for col, (target, label, icon, caption) in zip(st.columns(4), links, strict=True):
    with col.container(border=True):
        st.page_link(target, label=f"**{label}**", icon=icon)
        st.caption(caption)

st.subheader("Models available right now")
rows = model_statuses()
if not rows:
    st.info("No models are registered.")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "model": r.spec.name,
                    "ready": r.available,
                    "what it does": r.spec.description,
                    "status": "ready" if r.available else r.reason,
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "ready": st.column_config.CheckboxColumn("ready", width="small"),
            "what it does": st.column_config.TextColumn("what it does", width="large"),
        },
    )
    missing = [r for r in rows if not r.available]
    if missing:
        with st.expander(f"Why {len(missing)} model(s) cannot run here, and how to fix it"):
            for r in missing:
                st.markdown(f"- **{r.spec.name}**: {r.reason}")
st.caption("Scores run from 0 to 1; 0.5 is each model's line between usual and unusual.")
