"""Live page (being built)."""

import streamlit as st

st.title("Live")
st.info("This page is being built.")
