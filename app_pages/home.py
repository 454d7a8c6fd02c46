"""Home: what Vigil does and which models can run right now."""

import re

import pandas as pd
import streamlit as st

from core.settings import settings
from ui.cache import model_statuses

st.title("Vigil")
# only what the models below say they find: the lead once promised theft and vandalism, which none detects
st.markdown(
    "Vigil finds **anomalous behaviour** in surveillance video — fights, people who fall or lie down, running, "
    "bikes or carts where people walk, objects that move unlike the others — and shows *when* it happens: a "
    "score for every moment, the anomalous segments with timestamps, and thumbnails of the worst moments. For "
    "other kinds, label your own videos and train a detector on them (Label)."
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
    (
        "app_pages/archive.py",
        "Archive",
        ":material/inventory_2:",
        "Score a whole folder in the background; review the worst moments of all.",
    ),
]
# cards of a readable width that wrap onto a second row: five equal columns cut the titles on a laptop
with st.container(horizontal=True, wrap=True, gap="small"):
    for target, label, icon, caption in links:
        with st.container(border=True, width=146, height="stretch"):  # 5 in a row at 1280 px, 3 at 1024
            st.page_link(target, label=f"**{label}**", icon=icon)
            st.caption(caption)

st.subheader("Models available right now")
rows = model_statuses()
if not rows:
    st.info("No models are registered.")
else:
    default = settings().default_model
    names = {r.spec.name for r in rows}
    # "fight-movinet-v2" beside "fight-movinet" is an earlier version kept for comparison: listed apart, below
    earlier = [r for r in rows if re.sub(r"-v\d+$", "", r.spec.name) in names - {r.spec.name}]
    current = sorted((r for r in rows if r not in earlier), key=lambda r: r.spec.name != default)  # default first

    def table(statuses: list) -> None:
        # a static table: the lines wrap in full (a data grid cut them at one line)
        st.table(
            pd.DataFrame(
                [
                    {
                        "model": r.spec.name + (" (default)" if r.spec.name == default else ""),
                        "status": ("ready" if not r.limits else "ready, in part (see below)")
                        if r.available
                        else "cannot run here (see below)",
                        "what it finds": r.plain,  # follows the weights found here
                    }
                    for r in statuses
                ]
            ).set_index("model")
        )

    table(current)
    with st.expander("How each model works (for analysts)"):
        for r in current + earlier:
            st.markdown(f"**{r.spec.name}** (version {r.spec.version}): {r.spec.description}")
    if earlier:
        with st.expander(f"Earlier versions kept for comparison ({len(earlier)})"):
            table(earlier)
    for r in current:
        if r.available and r.limits:  # the default without its fight cue finds no fights: said up front
            st.info(f"**{r.spec.name}** runs here in part. {r.limits}", icon=":material/info:")
    missing = [r for r in rows if not r.available]
    if missing:
        with st.expander(f"Why {len(missing)} model(s) cannot run here, and how to fix it"):
            by_reason: dict[str, list[str]] = {}  # six models missing one weight file: one line, not six
            for r in missing:
                by_reason.setdefault(r.reason, []).append(f"**{r.spec.name}**")
            for reason, models in by_reason.items():
                st.markdown(f"- {', '.join(models)}: {reason}")
            st.caption("`VIGIL_MODELS_DIR` names more folders to search first (separated by `:`), e.g. a shared one.")
st.caption("Scores run from 0 to 1; 0.5 is each model's line between usual and unusual.")
