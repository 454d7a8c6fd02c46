"""Analyze page (being built)."""

import streamlit as st

st.title("Analyze")
st.info("This page is being built.")
