"""Streamlit-side helpers shared by the pages (views only: no model code, no SQL)."""
