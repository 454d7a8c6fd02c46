"""History page (being built)."""

import streamlit as st

st.title("History")
st.info("This page is being built.")
