"""Label page (being built)."""

import streamlit as st

st.title("Label")
st.info("This page is being built.")
