"""Vigil: the router (and the app-wide mail sender, so queued alert emails go out from any page)."""

import streamlit as st

from ui.auth import gate
from ui.services import start_mail_sender

st.set_page_config(page_title="Vigil — video anomaly analytics", page_icon=":material/visibility:", layout="wide")

# Page scripts live in app_pages/, not pages/: a pages/ folder would be served in Streamlit's legacy mode
# until st.navigation first runs, so a fresh server's first deep link (/analyze) would bypass this router.
pages = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/analyze.py", title="Analyze", icon=":material/search:", url_path="analyze"),
    st.Page("app_pages/history.py", title="History", icon=":material/history:", url_path="history"),
    st.Page("app_pages/live.py", title="Live", icon=":material/videocam:", url_path="live"),
    st.Page("app_pages/label.py", title="Label", icon=":material/label:", url_path="label"),
    st.Page("app_pages/archive.py", title="Archive", icon=":material/inventory_2:", url_path="archive"),
]
gate([p.url_path for p in pages])  # refuses a network without login, asks for sign-in, checks the allow-list
start_mail_sender()
st.navigation(pages).run()
