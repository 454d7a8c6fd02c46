"""Vigil: the router (and the app-wide mail sender, so queued alert emails go out from any page)."""

import streamlit as st

from ui.services import start_mail_sender

st.set_page_config(page_title="Vigil — video anomaly analytics", page_icon="👁️", layout="wide")
start_mail_sender()

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/analyze.py", title="Analyze", icon="🔎", url_path="analyze"),
    st.Page("pages/history.py", title="History", icon="🗂️", url_path="history"),
    st.Page("pages/live.py", title="Live", icon="🎥", url_path="live"),
    st.Page("pages/label.py", title="Label", icon="🏷️", url_path="label"),
]
st.navigation(pages).run()
