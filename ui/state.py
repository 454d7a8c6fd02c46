"""Typed access to the few things a session remembers (st.session_state behind names)."""

from __future__ import annotations

import uuid

import streamlit as st

from core.settings import AlertConfig

_CURRENT = "analyze.current_id"
_CURRENT_LABEL = "analyze.current_label"
_COMPARE = "results.compare"  # analysis id -> list of other analysis ids overlaid on it
_SESSION = "session.token"
_BEFORE_RUN = "analyze.before_run"  # (id, label) of the results a started run took off the page
_KEPT = "results.kept"  # widget key -> last value: Streamlit drops a widget's state when its page is left


def current_analysis() -> str | None:
    return st.session_state.get(_CURRENT)


def current_label() -> str | None:
    """The name of the video whose results Analyze shows (None when not known)."""
    return st.session_state.get(_CURRENT_LABEL)


def set_current_analysis(analysis_id: str | None, label: str | None = None) -> None:
    st.session_state[_CURRENT] = analysis_id
    st.session_state[_CURRENT_LABEL] = label


def clear_for_run() -> None:
    """A run starts: its results will replace what Analyze shows, and a failed run must not leave the last video's
    results under its error; the shown analysis is remembered so that a cancelled run gives it back."""
    if current_analysis():
        st.session_state[_BEFORE_RUN] = (current_analysis(), current_label())
    set_current_analysis(None)


def run_ended(cancelled: bool) -> None:
    """A run of this session ended: cancelled, the results it took off the page come back (nothing was lost)."""
    before = st.session_state.pop(_BEFORE_RUN, None)
    if cancelled and before and current_analysis() is None:
        set_current_analysis(*before)


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


def session_token() -> str:
    """A random name for this browser session (a reload gets a new one): whose run a job's outcome goes to first."""
    return st.session_state.setdefault(_SESSION, uuid.uuid4().hex)


def row_choice(picked: list[int], ids: list[str], last: tuple[int, str] | None) -> tuple[str | None, tuple | None]:
    """Which stored item a keyed, single-row table selects: (its id or None, what to remember for next time).

    Streamlit keeps a keyed table's selection as a row *number* while the rows change under it (a new analysis
    on top of a newest-first list shifts every row down). So a selection counts only when the user changed it
    (a new row number); otherwise the id remembered from that click stands. ``last``: the (row, id) remembered.
    """
    if not picked:
        return None, None
    row = picked[0]
    if last is not None and last[0] == row:  # the same click as before: what it chose, wherever that row moved
        return (last[1] if last[1] in ids else None), last  # (gone since, e.g. deleted: nothing)
    return (ids[row], (row, ids[row])) if row < len(ids) else (None, None)


# A table whose rows open something: a click on any cell picks its row (Streamlit's single-row mode alone picks a
# row only through the tick box at its left; a cell click there just focuses the cell).
ROW_CLICK_MODES = ["single-row", "single-cell"]


def cell_as_row(selection: dict, skip: tuple[str, ...] = ()) -> dict | None:
    """A table's new selection when a cell was clicked: that cell's row ticked, no cell selected (so the tick,
    not a cell frame, shows what is open); None when no cell is selected (a tick-box click stands as it is).
    ``selection``: the table's session-state value, ``{"selection": {"rows": [...], "cells": [(row, column)]}}``;
    ``skip``: columns whose click does something else (a link opening a new tab): clicked, they pick nothing."""
    sel = selection.get("selection", {})
    cells = sel.get("cells") or []
    if not cells:
        return None
    row, column = cells[0]
    rows = sel.get("rows", []) if column in skip else [row]
    return {"selection": {"rows": list(rows), "cells": []}}


def make_cell_as_row(key: str, skip: tuple[str, ...] = ()):
    """The ``on_select`` callback of the table keyed ``key``: it runs before the page does, so setting the
    table's state there is allowed and the tick moves to the clicked row in the browser too."""

    def callback() -> None:
        if (new := cell_as_row(st.session_state.get(key) or {}, skip)) is not None:
            st.session_state[key] = new

    return callback


# The Live page's rule widgets (app_pages/live.py `rule_controls`): field of AlertConfig -> widget key.
LIVE_RULE_KEYS = {"threshold": "live-thr", "seconds": "live-n", "cooldown": "live-cool", "cap_per_hour": "live-cap"}


def live_rule(defaults: AlertConfig) -> AlertConfig:
    """The Live alert rule as this session last set it on the Live page; ``defaults`` (the settings' rule,
    VIGIL_ALERT_*) for what it has not set."""
    values = {field: kept(key, getattr(defaults, field)) for field, key in LIVE_RULE_KEYS.items()}
    return defaults.with_threshold(
        float(values["threshold"]),
        seconds=float(values["seconds"]),
        cooldown=float(values["cooldown"]),
        cap_per_hour=int(values["cap_per_hour"]),
    )


def live_rule_set() -> bool:
    """True once this session set the Live page's rule controls (drawing them keeps their values: see ``keep``)."""
    values = st.session_state.get(_KEPT, {})
    return any(key in values for key in LIVE_RULE_KEYS.values())


def kept(key: str, default):
    """The value the widget ``key`` had when its page was last shown (``default`` the first time)."""
    return st.session_state.setdefault(_KEPT, {}).get(key, default)


def keep(key: str, value):
    """Remember a widget's value past a page switch (Streamlit forgets the state of widgets not drawn)."""
    st.session_state.setdefault(_KEPT, {})[key] = value
    return value
