"""History: every past analysis, searchable and sortable; open one without recomputing, or delete it."""

import hashlib

import pandas as pd
import streamlit as st

from core.access import show_owner
from core.errors import VigilError
from ui import results, state
from ui.alerts_view import render_alert_log
from ui.analysis_runner import show_interrupted
from ui.auth import identity
from ui.cache import get_store, job_registry
from ui.charts import mmss

st.title("History")
who = identity()

analyses_tab, alerts_tab = st.tabs(["Analyses", "Alert log"])
with alerts_tab:
    st.caption("Every alert the Live page raised, with its snapshot and whether its email went out.")
    render_alert_log(limit=200, key="history.alerts", owner=None if who.admin else who.owner)


def table_key(ids: list[str], gen: int) -> str:
    """The table's widget key for these rows (ids top to bottom): a new key whenever the rows change.

    Streamlit keeps a table's selection as a row *number*: a row added on top (a compare, an Analyze run in another
    tab) or a search would leave the tick on whatever row moved into that place. A new key starts a fresh table."""
    digest = hashlib.blake2s("\n".join(ids).encode(), digest_size=6).hexdigest()
    return f"history.table.{gen}.{digest}"


def open_selection(ids: list[str], open_id: str | None) -> dict | None:
    """The selection a fresh table starts with: the row of the analysis shown below (None if it is not listed)."""
    return {"selection": {"rows": [ids.index(open_id)]}} if open_id in ids else None


def forget_open() -> None:
    """The open analysis is gone (deleted here or in another tab): nothing open, and a fresh table, whose old
    selection would otherwise tick the row that moved into its place."""
    st.query_params.pop("id", None)
    st.session_state.pop("history.open", None)
    st.session_state["history.clicked"] = None
    st.session_state["history.table_gen"] = st.session_state.get("history.table_gen", 0) + 1


def delete_control(chosen: str, rows: list[dict]) -> None:
    """Delete the open analysis: after its results, out of the way of what a visitor came to see."""
    row = next((r for r in rows if r["id"] == chosen), None)
    owner = row["owner"] if row else None
    refused = owner is not None and not who.may_manage(owner)
    with st.popover(
        "Delete this analysis",
        disabled=refused,
        help=f"Only its owner ({show_owner(owner)}) or an admin can delete it." if refused else None,
    ):
        # named as the list and the results header name it (the id is in the header's tooltip, for whoever needs it)
        what = f"**{row['source_name']}**, analysed {delete_when(row)} with {row['model']}" if row else "This analysis"
        st.write(f"{what}: its scores, segments and thumbnails are removed. The video file is kept.")
        if st.button("Delete", type="primary", key="history.delete"):
            try:
                store.delete_by(chosen, who)  # owner or admin, checked in the same transaction
                forget_open()
                results.load_record.clear()
                # told on the next run: a toast followed at once by st.rerun never reached the browser
                gone = f"{row['source_name']} ({delete_when(row)})" if row else "the analysis"
                st.session_state[_DELETED] = f"Deleted {gone}."
                st.rerun()
            except VigilError as err:
                st.error(str(err))


_DELETED = "history.deleted"  # the toast a Delete leaves for the next run


def delete_when(row: dict) -> str:
    """'Nov 22, 01:44': when a listed analysis was made, as the results header says it."""
    return results.when_text(row["created_at"], results.viewer_timezone())


# The player (or, without a playable video, the "Selected moment" line) that a deep link to a moment opens on:
# the results draw it below the table, title, sliders and chart, a screen or two down.
SCROLL_TO_MOMENT = """
const doc = window.parent.document;
let tries = 0, left = false;
// the chart above the player may still be drawing and push it down: look again a few times, unless the user
// has scrolled meanwhile
for (const ev of ["wheel", "touchstart", "keydown", "mousedown"]) doc.addEventListener(ev, () => { left = true; });
function target() {
  return doc.querySelector('video[data-testid="stVideo"]')
    || [...doc.querySelectorAll('[data-testid="stMarkdownContainer"] strong')]
         .find(e => e.textContent.startsWith("Selected moment"));
}
function go() {
  const el = target();
  if (left) return;
  if (el) {
    const r = el.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.parent.innerHeight) el.scrollIntoView({block: "center"});
  }
  if (++tries < 16) setTimeout(go, 250);
}
go();
"""


def scroll_to_moment() -> None:
    """Bring the moment a deep link (``?t=``) selected into view, once (drawn on that run only)."""
    results.script_frame(SCROLL_TO_MOMENT)  # as ui/results.py seeks its player


with analyses_tab:
    store = get_store()
    if deleted := st.session_state.pop(_DELETED, None):
        st.toast(deleted, icon=":material/delete:")
    remembered = st.session_state.get("history.open") or st.query_params.get("id")
    if remembered and not store.exists(remembered):
        forget_open()
        st.info("The analysis that was open here has been deleted (perhaps in another tab or by another user).")
    show_interrupted("history")  # ended by a server restart before it was stored: said, with Run again and Dismiss
    # analyses still running (server jobs) are not in the store yet: say so, or the user wonders where theirs went
    for job in job_registry().jobs(who.owner):
        if job.state == "running":
            what = "Comparison" if job.overlay_on else "Analysis"
            st.info(
                f"{what} of **{job.label}** under way ({job.fraction:.0%}); it is listed here when it ends. "
                "Its progress and Cancel are on Analyze.",
                icon=":material/hourglass_top:",
            )
    search = st.text_input("Search", placeholder="file name, link or model", key="history.search")
    rows = store.list(search=search.strip())
    if not rows:
        st.info("No analysis matches." if search else "No analysis yet: analyse a video on the Analyze page.")
        st.page_link("app_pages/analyze.py", label="Go to Analyze", icon=":material/search:")
    else:
        ids = [r["id"] for r in rows]
        key = table_key(ids, st.session_state.get("history.table_gen", 0))
        open_id = st.session_state.get("history.open") or st.query_params.get("id")
        drawn_key, drawn_ids = st.session_state.get("history.drawn", (None, []))
        if drawn_key not in (None, key):  # the rows changed since this tab drew them: a click then meant those rows
            stale = (st.session_state.get(drawn_key) or {}).get("selection", {}).get("rows", [])
            if stale and stale[0] < len(drawn_ids) and drawn_ids[stale[0]] in ids:
                open_id = drawn_ids[stale[0]]
        st.session_state["history.drawn"] = (key, ids)
        # the decisive figures first, narrow enough that name, when, model, peak, segments and % anomalous fit at
        # 1024 px beside the sidebar (553 px of table: peak, last of them, was cut to "pea")
        table = pd.DataFrame(
            {
                "source": [r["source_name"] for r in rows],
                # stored in UTC, shown in the viewer's zone as the results header shows it
                "date": pd.to_datetime([r["created_at"] for r in rows], utc=True).tz_convert(results.viewer_zone()),
                "model": [r["model"] for r in rows],
                "peak": [round(r["peak"], 2) for r in rows],  # as the results print it (f"{x:.2f}"): 0.73514 -> 0.74
                "segments": [r["n_segments"] for r in rows],
                "anomalous": [100 * r["frac_anomalous"] for r in rows],  # percent, rounded as the results show it
                "duration": [mmss(r["duration"]) for r in rows],
                "fps": [r["scoring_fps"] for r in rows],
                "owner": [show_owner(r["owner"]) for r in rows],
                "version": [r["model_version"] for r in rows],  # long for fused models: last, out of the way
            }
        )
        event = st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            on_select=state.make_cell_as_row(key),  # a click on any cell opens (and ticks) its row
            selection_mode=state.ROW_CLICK_MODES,
            key=key,
            # a fresh table (new rows, back from another page, a deep link) ticks the analysis shown below
            selection_default=open_selection(ids, open_id),
            column_config={
                # a long file name is cut at this width (hover shows it) instead of pushing the figures off screen
                "source": st.column_config.TextColumn("source", width=120),
                "date": st.column_config.DatetimeColumn("when", format="MMM D, HH:mm", width=95),
                "model": st.column_config.TextColumn("model", width=65),  # "objects" whole
                "peak": st.column_config.ProgressColumn("peak", min_value=0.0, max_value=1.0, format="%.2f", width=85),
                "segments": st.column_config.NumberColumn("segments", width=70),
                "anomalous": st.column_config.NumberColumn(
                    "anomalous", help="share of the video inside anomalous segments", format="%.0f%%", width=80
                ),
                "duration": st.column_config.TextColumn("length", width=60),
                "fps": st.column_config.NumberColumn("fps", help="frames per second it was scored at", format="%g"),
                "version": st.column_config.TextColumn("version", width="small"),
            },
        )
        st.caption(
            f"{len(rows)} {'analysis' if len(rows) == 1 else 'analyses'} · click a row to open it · click a column "
            "header to sort"
        )
        picked = event.selection.rows if event else []
        clicked, st.session_state["history.clicked"] = state.row_choice(
            picked, ids, st.session_state.get("history.clicked")
        )
        # the open analysis survives a visit to another page (Streamlit forgets the table's selection then)
        chosen = clicked or st.query_params.get("id") or st.session_state.get("history.open")
        if chosen:
            st.query_params["id"] = st.session_state["history.open"] = chosen
            moment = None
            if "t" in st.query_params:  # a deep link to one moment (the Archive ranking): select it once
                try:
                    moment = float(st.query_params.pop("t"))
                    state.select_time(chosen, moment)
                except ValueError:
                    pass
            results.render(chosen, key="history")
            if moment is not None:
                scroll_to_moment()
            delete_control(chosen, rows)
