"""Vigil: the router (and the app-wide mail sender, so queued alert emails go out from any page)."""

import streamlit as st

from ui.services import start_mail_sender

st.set_page_config(page_title="Vigil — video anomaly analytics", page_icon=":material/visibility:", layout="wide")
start_mail_sender()

# The page scripts live in pages/views/. Files directly in pages/ are only shims that run this router:
# until st.navigation has run once in the process, Streamlit serves pages/*.py in its legacy mode, so a
# deep link (/analyze as a fresh server's first request) would otherwise bypass the router.
pages = [
    st.Page("pages/views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/views/analyze.py", title="Analyze", icon=":material/search:", url_path="analyze"),
    st.Page("pages/views/history.py", title="History", icon=":material/history:", url_path="history"),
    st.Page("pages/views/live.py", title="Live", icon=":material/videocam:", url_path="live"),
    st.Page("pages/views/label.py", title="Label", icon=":material/label:", url_path="label"),
    st.Page("pages/views/archive.py", title="Archive", icon=":material/inventory_2:", url_path="archive"),
]
st.navigation(pages).run()
