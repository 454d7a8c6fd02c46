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
c1, c2, c3, c4 = st.columns(4)
c1.page_link("pages/views/analyze.py", label="**Analyze** a video or a link", icon="🔎")
c2.page_link("pages/views/history.py", label="**History** of past analyses", icon="🗂️")
c3.page_link("pages/views/live.py", label="**Live** webcam monitoring with email alerts", icon="🎥")
c4.page_link("pages/views/label.py", label="**Label** videos to train a better model", icon="🏷️")

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
                    "ready": "✅" if r.available else "❌",
                    "what it does": r.spec.description,
                    "status": "ready" if r.available else r.reason,
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )
st.caption("Scores run from 0 to 1; 0.5 is each model's line between usual and unusual.")
