"""Typed access to the few things a session remembers (st.session_state behind names)."""

from __future__ import annotations

import streamlit as st

_CURRENT = "analyze.current_id"
_COMPARE = "results.compare"  # analysis id -> list of other analysis ids overlaid on it
_RUNNING = "analyze.running"


def current_analysis() -> str | None:
    return st.session_state.get(_CURRENT)


def set_current_analysis(analysis_id: str | None) -> None:
    st.session_state[_CURRENT] = analysis_id


def selected_time(analysis_id: str) -> float | None:
    return st.session_state.get(f"results.t.{analysis_id}")


def select_time(analysis_id: str, t: float | None) -> None:
    st.session_state[f"results.t.{analysis_id}"] = t


def compared(analysis_id: str) -> list[str]:
    return list(st.session_state.setdefault(_COMPARE, {}).get(analysis_id, []))


def add_compared(analysis_id: str, other_id: str) -> None:
    table = st.session_state.setdefault(_COMPARE, {})
    ids = table.setdefault(analysis_id, [])
    if other_id not in ids and other_id != analysis_id:
        ids.append(other_id)


def mark_running(label: str | None) -> None:
    """Remember that an analysis started; if the script is interrupted (Cancel), the mark survives."""
    st.session_state[_RUNNING] = label


def interrupted_run() -> str | None:
    """The label of an analysis that never finished (cancelled), once; then forgets it."""
    return st.session_state.pop(_RUNNING, None)
