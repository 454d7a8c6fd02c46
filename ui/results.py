"""The results view shared by Analyze and History: summary, chart, playback, segments, moments, exports.

Everything here reads a stored analysis; moving the threshold or segment controls re-cuts segments
from the stored scores (cached by analysis id + settings), never re-scoring the video.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

from core import exports
from core.alerts import AlertConfig, backtest
from core.config import EventConfig
from core.errors import VigilError
from core.events import Moment, ScoreTrack, TrailingMean, smooth
from core.images import encode_jpeg, jpeg_data_uri
from core.media import annotated_clip, playable_video
from core.sources import open_source
from core.store import AnalysisRecord
from ui import state
from ui.analysis_runner import show_compare_jobs, start_analysis, take_compared, wait_briefly
from ui.auth import identity
from ui.cache import get_store
from ui.charts import PICK, mmss, score_chart
from ui.jobs import JobView
from ui.live_state import own_sources
from ui.model_picker import model_picker
from ui.services import app_settings

MOMENT_COLUMNS = 6  # thumbnails per row of "Worst moments" (EventConfig.top_k is 6)
PLAYER_MAX_HEIGHT = 480  # px: the player with a line of the page above and below fits a 1024x700 laptop window


def backtest_rule() -> tuple[AlertConfig, str]:
    """The Live rule a backtest starts from, and its origin in words ("your Live rule"): as this session set it on
    the Live page; in a session that never did, the rule of the user's running server source (the most recently
    started of several, named when their rules differ); else the settings' (VIGIL_ALERT_*)."""
    defaults = app_settings().alerts
    mine = [] if state.live_rule_set() else own_sources(identity())
    if not mine:
        return state.live_rule(defaults), "your Live rule"
    newest = mine[-1]
    if len(mine) == 1:
        origin = f"the rule of your running server source {newest.label}"
    elif len({s.processor.cfg.model_dump_json() for s in mine}) == 1:
        origin = f"the rule of your running server sources {', '.join(s.label for s in mine)}"
    else:
        origin = f"the rule of {newest.label}, the most recently started of your {len(mine)} running server sources"
    return newest.processor.cfg, origin


def alert_backtest(analysis_id: str, db_path: str, key: str, results_threshold: float) -> None:
    """The Live rule replayed on the stored scores, from ``backtest_rule``: its threshold, not the results' line,
    and its own causal smoothing. Its controls carry the Live page's names (``rule_controls``)."""
    live, origin = backtest_rule()
    b1, b2, b3 = st.columns(3)
    threshold = b1.slider("Threshold", 0.05, 0.99, live.threshold, 0.01, key=f"{key}.bt_thr")
    seconds = b2.slider("Alert after (s)", 0.0, 30.0, min(live.seconds, 30.0), 0.5, format="%.1f", key=f"{key}.bt_n")
    cooldown = b3.slider("Cooldown (s)", 0.0, 600.0, min(live.cooldown, 600.0), 5.0, format="%.0f", key=f"{key}.bt_cd")
    try:
        cfg = live.with_threshold(threshold, seconds=seconds, cooldown=cooldown)
        n_alerts, n_digests = emails_in_backtest(analysis_id, db_path, cfg.model_dump_json())
    except (VigilError, ValueError) as err:
        st.error(str(err))
        return
    why = ""
    if n_alerts == 0:  # the one question a 0 raises: how close did it come
        longest = longest_above(load_record(analysis_id, db_path).track, cfg)
        why = (
            f": the {cfg.smooth_seconds:g} s average never went above {threshold:.2f}"
            if longest is None
            else f": the {cfg.smooth_seconds:g} s average stayed above {threshold:.2f} for at most {longest:.1f} s, "
            f"under the {seconds:g} s it must last"
        )
    st.markdown(
        f"With threshold **{threshold:.2f}**, alert after **{seconds:g} s** and cooldown **{cooldown:g} s**, the Live "
        f"alert rule would have raised **{n_alerts} alert(s)**"
        + (f" and {n_digests} digest(s)" if n_digests else "")
        + (why or " on this video: one email each when email is set up")
        + "."
    )
    st.caption(
        f"Starts from {origin} (threshold {live.threshold:.2f}, alert after {live.seconds:g} s, cooldown "
        f"{live.cooldown:g} s, at most {live.cap_per_hour} emails an hour); changes here do not change it. The rule "
        f"compares the score averaged over the last {live.smooth_seconds:g} s with its threshold, not the results' "
        f"line ({results_threshold:.2f}). Live scores can differ a little from these offline ones."
    )


def longest_above(track: ScoreTrack, cfg: AlertConfig) -> float | None:
    """The longest episode (s) of the Live rule on ``track``: from the first sample whose causal average is above
    ``cfg.threshold`` to the last before it falls under ``cfg.off_threshold`` (the rule's own band); None when the
    average never goes above the threshold."""
    mean = TrailingMean(cfg.smooth_seconds) if cfg.smooth_seconds > 0 else None
    longest, start, last = None, None, 0.0
    for t, s in zip(track.t.tolist(), track.score.tolist(), strict=True):
        v = mean.update(t, s) if mean is not None else s
        if start is None and v > cfg.threshold:
            start = t
        elif start is not None and v < cfg.off_threshold:
            longest, start = max(longest or 0.0, last - start), None
        last = t
    if start is not None:
        longest = max(longest or 0.0, last - start)
    return longest


# --- cached reads ----------------------------------------------------------------------------------
@st.cache_data(max_entries=32, show_spinner=False)
def load_record(analysis_id: str, db_path: str) -> AnalysisRecord:
    return get_store().load(analysis_id)


@st.cache_data(max_entries=256, show_spinner=False)
def resegmented(analysis_id: str, db_path: str, events_json: str) -> AnalysisRecord:
    rec = load_record(analysis_id, db_path)
    events = EventConfig.model_validate_json(events_json)
    return rec if rec.events == events else rec.resegment(events)


@st.cache_data(max_entries=64, show_spinner=False)
def emails_in_backtest(analysis_id: str, db_path: str, alert_json: str) -> tuple[int, int]:
    """(alert emails, digest emails) the live rule would have sent on this analysis."""
    rec = load_record(analysis_id, db_path)
    sent = backtest(rec.track, AlertConfig.model_validate_json(alert_json))
    return sum(a.kind == "alert" for a in sent), sum(a.kind == "digest" for a in sent)


@st.cache_data(max_entries=256, show_spinner=False)
def frame_jpeg(video_path: str, frame: int) -> bytes | None:
    """One frame of the source video as JPEG (for moments that have no stored thumbnail)."""
    try:
        img = open_source(video_path).read_at([frame], max_side=640).get(frame)
    except VigilError:
        return None
    if img is None:
        return None
    try:
        return encode_jpeg(img)
    except ValueError:
        return None


@st.cache_data(max_entries=8, show_spinner="Preparing the video for the browser…")
def playable_path(video_path: str) -> str | None:
    try:
        return str(playable_video(open_source(video_path)))
    except (VigilError, OSError, ValueError):
        return None


def moment_image(rec: AnalysisRecord, m: Moment) -> bytes | Path | None:
    if m.frame in rec.thumbnails and rec.thumbnails[m.frame].is_file():
        return rec.thumbnails[m.frame]
    return frame_jpeg(rec.video_path, m.frame)


def player_width(width: int, height: int) -> int | Literal["stretch"]:
    """Width (px) at which a ``width`` x ``height`` px video is PLAYER_MAX_HEIGHT px tall: a portrait video at
    the column's width was taller than a laptop screen. Streamlit shrinks it to a narrower column; "stretch"
    (the column's width) when the size is unknown."""
    if width <= 0 or height <= 0:
        return "stretch"
    return max(1, round(PLAYER_MAX_HEIGHT * width / height))


# --- the view ---------------------------------------------------------------------------------------
def _event_values(ev: EventConfig) -> dict[str, float]:
    """The four segment settings by their widget-key suffix (``event_controls``' sliders)."""
    return {
        "thr": float(ev.threshold),
        "mind": float(ev.min_duration),
        "gap": float(ev.merge_gap),
        "smooth": float(ev.smooth_seconds),
    }


def event_controls(rec: AnalysisRecord, key: str) -> EventConfig:
    ev = rec.events
    start = {name: state.kept(f"{key}.{name}", value) for name, value in _event_values(ev).items()}
    c1, c2, c3, c4 = st.columns(4)
    threshold = c1.slider(
        "Threshold",
        0.05,
        0.95,
        start["thr"],
        0.01,
        key=f"{key}.thr",
        help="A segment opens when the smoothed score rises above this.",
    )
    min_duration = c2.slider(
        "Min. duration (s)",  # one line at 1024 px, level with the other three sliders
        0.0,
        10.0,
        start["mind"],
        0.1,
        key=f"{key}.mind",
        help="Shorter segments are dropped.",
    )
    merge_gap = c3.slider(
        "Merge gap (s)",
        0.0,
        10.0,
        start["gap"],
        0.1,
        key=f"{key}.gap",
        help="Segments closer than this are merged.",
    )
    smooth_s = c4.slider(
        "Smoothing (s)",
        0.0,
        5.0,
        start["smooth"],
        0.1,
        key=f"{key}.smooth",
        help="Width of the moving average the segments are cut from.",
    )
    for name, value in (("thr", threshold), ("mind", min_duration), ("gap", merge_gap), ("smooth", smooth_s)):
        state.keep(f"{key}.{name}", value)  # the same values when the user comes back from another page
    return ev.with_threshold(threshold, min_duration=min_duration, merge_gap=merge_gap, smooth_seconds=smooth_s)


def start_view(analysis_id: str, events: EventConfig, key: str) -> None:
    """Open ``analysis_id``'s results at ``events`` (the settings a new run was asked for), whatever its sliders
    said before: a video analysed earlier is reused, and its view kept the settings of the earlier look."""
    key = f"{key}.{analysis_id}"
    for name, value in _event_values(events).items():
        st.session_state.pop(f"{key}.{name}", None)  # the widget starts again from the kept value
        state.keep(f"{key}.{name}", value)


def when_text(created_at: str, tz: str | None = None, now: datetime | None = None) -> str:
    """'Nov 21, 22:27' for an ISO time (stored in UTC) in the time zone ``tz`` (the viewer's browser; None or
    unknown: the server's), with the year when it is not this year ('Nov 21, 2025, 22:27'). ``now``: for tests."""
    when = datetime.fromisoformat(created_at)
    when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(viewer_zone(tz or ""))  # "": the server's
    now = (now or datetime.now(UTC)).astimezone(when.tzinfo)
    year = f", {when.year}" if when.year != now.year else ""
    return f"{when:%b} {when.day}{year}, {when:%H:%M}"


def viewer_zone(tz: str | None = None) -> tzinfo:
    """The zone times are shown in: ``tz`` (default the viewer's browser's), else the server's."""
    tz = viewer_timezone() if tz is None else tz
    try:
        return ZoneInfo(tz) if tz else datetime.now().astimezone().tzinfo  # type: ignore[return-value]
    except (ZoneInfoNotFoundError, ValueError):
        return datetime.now().astimezone().tzinfo  # type: ignore[return-value]


def viewer_timezone() -> str | None:
    """The browser's time zone name ("Europe/Berlin"), None when it did not say (a test, an old browser)."""
    try:
        return st.context.timezone
    except Exception:  # no browser context (AppTest, a bare script run): the server's zone then
        return None


def summary_line(rec: AnalysisRecord) -> None:
    peak, peak_t = rec.peak
    c = st.columns(5)
    c[0].metric("Duration", mmss(rec.track.duration))
    c[1].metric("Anomalous", f"{rec.frac_anomalous:.0%}", help="Share of the video inside anomalous segments")
    c[2].metric("Peak score", f"{peak:.2f}", help="Highest per-frame score (0..1; 0.5 = unusual)")
    c[3].metric("Peak at", mmss(peak_t))
    c[4].metric("Segments", len(rec.segments))


def compare_line(recs: list[AnalysisRecord], threshold: float) -> str:
    """Each charted model's peak and segment count at ``threshold`` (``recs`` re-cut at it), the open analysis
    first: a compared model whose line lies flat near 0 found nothing, which the chart alone does not tell from an
    overlay that failed."""
    parts = []
    for r in recs:
        peak, peak_t = r.peak
        n = len(r.segments)
        found = f"{n} segment{'s' if n != 1 else ''}" if n else "no segment: it finds nothing here"
        # the raw per-frame peak, as the Peak score metric and History say it (the bold line is smoothed, lower)
        parts.append(f"**{model_label(r)}** raw peak {peak:.2f} at {mmss(peak_t)}, {found}")
    return f"At threshold {threshold:.2f}: " + " · ".join(parts)


def compared_note(base: AnalysisRecord, overlaid: list[AnalysisRecord]) -> str:
    """Where the compared runs went: each is stored as its own analysis, a row in History, which would otherwise
    look like an analysis the user made and forgot."""
    models = ", ".join(model_label(r) for r in overlaid)
    return (
        f"Each comparison is saved in History as an analysis of {base.source_name} ({models}), so it opens again "
        "without scoring; delete it there to drop it."
    )


def model_label(rec: AnalysisRecord) -> str:
    """'vigil v1' for the chart legend: a fused model's version goes on to list its cues and fusion digest (the
    caption above the chart has it whole)."""
    return f"{rec.model} v{rec.model_version.split(':')[0]}"


def render(analysis_id: str, key: str = "res", allow_compare: bool = True) -> None:
    """Render a stored analysis. ``key`` keeps widget keys apart when two views share a page."""
    db_path = str(get_store().db.path)
    try:
        base = load_record(analysis_id, db_path)
    except VigilError as err:
        st.error(str(err))
        return
    key = f"{key}.{analysis_id}"
    st.subheader(base.source_name)
    st.caption(
        f"Model **{model_label(base)}** · analysed {when_text(base.created_at, viewer_timezone())} · "
        f"{base.meta.width}×{base.meta.height} @ {base.meta.fps:.1f} fps, scored at {base.scoring.fps:g} fps",
        # the full version (cues, fight head, fusion digest) and the id are for whoever debugs or cites it
        help=f"Model version `{base.model_version}` · analysis id `{base.id}`",
    )
    for w in base.warnings:
        st.warning(w)

    events = event_controls(base, key)
    rec = resegmented(analysis_id, db_path, events.model_dump_json())
    summary_line(rec)

    # backtest of the live alert rule on these scores
    with st.expander("Alert backtest: how many alerts would the Live rule have raised on this video?"):
        alert_backtest(analysis_id, db_path, key, events.threshold)

    tracks: dict[str, ScoreTrack] = {model_label(rec): rec.track}
    overlaid: list[AnalysisRecord] = []
    ended = take_compared() if allow_compare else []  # before the chart: a Compare run that just ended is on it
    if allow_compare:
        for other_id in state.compared(analysis_id):
            try:
                other = resegmented(other_id, db_path, events.model_dump_json())
                tracks[model_label(other)] = other.track
                overlaid.append(other)
            except VigilError:
                continue
    selected = state.selected_time(analysis_id)
    cues = None
    if rec.cues and st.toggle(
        "Show what each cue says",
        key=f"{key}.cues",
        help="Dashed lines: the score each cue of the model gives on its own (smoothed like the bold line). The "
        "score is the strongest cue at each moment, so a cue near the dashed yellow line nearly made a segment.",
    ):
        cues = {label: smooth(v, rec.track.t, events.smooth_seconds) for label, v in rec.cues.items()}
    chart = score_chart(tracks, rec.segments, events.threshold, selected, cues=cues)
    event = st.altair_chart(chart, width="stretch", on_select="rerun", selection_mode=[PICK], key=f"{key}.chart")
    picked = (event or {}).get("selection", {}).get(PICK) if event else None
    if picked:
        t = float(picked[0].get("t", 0.0))
        if t != selected:
            state.select_time(analysis_id, t)
            selected = t
    if overlaid:
        st.markdown(compare_line([rec, *overlaid], events.threshold))
        st.caption(compared_note(rec, overlaid))
    st.caption("Click the chart to pick a moment; drag to pan, scroll to zoom. Red bands are anomalous segments.")

    left, right = st.columns([3, 2])
    with left:
        path = playable_path(rec.video_path)
        if path:
            st.video(path, start_time=int(selected or 0), width=player_width(rec.meta.width, rec.meta.height))
            play = st.session_state.pop(f"results.play.{analysis_id}", False)  # a ▶ button asked, once
            if selected:
                seek_video(selected, play)
        else:
            st.info("The source video is no longer available for playback; scores and thumbnails are kept.")
    with right:
        if selected is not None:
            m = rec.track.moment_at(selected)
            img = moment_image(rec, m)
            st.markdown(f"**Selected moment {mmss(m.t)}** · score {m.score:.2f} · frame {m.frame}")
            if img is not None:
                st.image(img, width=player_width(rec.meta.width, rec.meta.height))  # no taller than the player
        else:
            st.markdown("**Pick a moment** on the chart, a segment in the table or a thumbnail below.")

    segments_table(rec, analysis_id, key)
    moments_grid(rec, analysis_id, key)
    if allow_compare:
        compare_controls(rec, key, ended)
    export_controls(rec, key)


def seek_video(t: float, play: bool = False) -> None:
    """Put the page's player at ``t`` s exactly: ``st.video``'s start time is whole seconds, a third of a 3 s clip.

    A 1-px same-origin iframe (``st.iframe``; 0 px is never loaded) sets the player's ``currentTime`` once its
    metadata is loaded, retrying briefly while Streamlit applies its own whole-second start; it never moves a
    playing video, nor one the user has moved elsewhere. It runs again only when ``t`` (or ``play``) changes
    (same HTML, same iframe).
    ``play`` (a "▶ Play from here" button): seek whatever the player shows, scroll it into view and play."""
    script_frame(
        f"""
const t = {t:.3f};
const play = {"true" if play else "false"};
let tries = 0, done = false;
function seek() {{
  const v = window.parent.document.querySelector('video[data-testid="stVideo"]');
  if (v && v.readyState < 1) v.addEventListener("loadedmetadata", seek, {{once: true}});
  if (v && v.readyState >= 1 && play && !done) {{
    done = true;
    v.currentTime = t;
    v.scrollIntoView({{block: "center", behavior: "smooth"}});
    v.play().catch(() => {{}});  // a browser that refuses to autoplay leaves it paused at t
  }} else if (v && v.readyState >= 1 && v.paused && !play) {{
    // only from where Streamlit's whole-second start (or the load) put it: a user's own scrub is left alone
    const atStart = Math.abs(v.currentTime - Math.floor(t)) < 0.02 || v.currentTime === 0;
    if (atStart && Math.abs(v.currentTime - t) > 0.04) v.currentTime = t;
  }}
  if (!done && ++tries < 12) setTimeout(seek, 250);
}}
seek();
"""
    )


# the helper frame draws nothing: no margin or scrollbar in its 1 px (a scrollbar's thumb showed as a dash under
# the player), and once its script runs the frame folds to 0 px without a border (it still runs; 0 px from the
# start is never loaded)
_QUIET_FRAME = """<style>html, body { margin: 0; padding: 0; overflow: hidden; background: transparent; }</style>
<script>
(() => {
  const f = window.frameElement;
  if (f) { f.style.height = "0px"; f.style.border = "0"; f.style.display = "block"; }
})();
</script>"""


def script_frame(js: str) -> None:
    """Run our own ``js`` in the page through a same-origin ``st.iframe`` (components.v1.html is deprecated) that
    shows nothing on screen. ``js``: a script body, without the <script> tags."""
    st.iframe(f"{_QUIET_FRAME}<script>{js}</script>", height=1)


def segments_table(rec: AnalysisRecord, analysis_id: str, key: str) -> None:
    st.markdown(f"#### Anomalous segments ({len(rec.segments)})")
    if not rec.segments:
        st.info("No segment above the threshold. Lower the threshold to explore weaker anomalies.")
        return
    rows = []
    for s in rec.segments:
        m = Moment(s.peak_t, rec.track.frame_at(s.peak_t), s.peak)
        rows.append(
            {
                "thumbnail": jpeg_data_uri(moment_image(rec, m)),
                "start": mmss(s.start),
                "end": mmss(s.end),
                "duration (s)": round(s.duration, 1),
                "peak": round(s.peak, 2),  # as the metrics and moments print it (0.73514 -> 0.74)
                "peak at": mmss(s.peak_t),
                "cause": s.cause or "—",
            }
        )
    event = st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        row_height=64,
        column_config={
            "thumbnail": st.column_config.ImageColumn("thumbnail", width="small"),
            "peak": st.column_config.NumberColumn("peak", format="%.2f"),
        },
        on_select=state.make_cell_as_row(f"{key}.segtable"),  # a click on any cell picks its segment
        selection_mode=state.ROW_CLICK_MODES,
        key=f"{key}.segtable",
    )
    chosen = event.selection.rows if event else []
    if chosen:
        t = rec.segments[chosen[0]].peak_t
        if state.selected_time(analysis_id) != t:
            state.select_time(analysis_id, t)
            st.rerun()


def moments_grid(rec: AnalysisRecord, analysis_id: str, key: str) -> None:
    if not rec.moments:
        return
    st.markdown("#### Worst moments")
    cols = st.columns(MOMENT_COLUMNS)  # fixed: one or two moments keep the size of six, not the page's width
    line = rec.events.threshold  # below it a moment's top cue is no finding: naming it ("fight") misleads
    for i, m in enumerate(rec.moments):
        with cols[i % MOMENT_COLUMNS]:
            img = moment_image(rec, m)
            if img is not None:
                st.image(img, width="stretch")
            # the button right under the picture and the words under it: captions of different lengths above the
            # buttons set them at different heights
            if st.button(f"▶ {mmss(m.t)}", key=f"{key}.moment.{i}", width="stretch", help="Play from here"):
                state.select_time(analysis_id, m.t)
                st.session_state[f"results.play.{analysis_id}"] = True
                st.rerun()
            cause = rec.track.cause_at(rec.track.index_at(m.t))
            why = (cause or "above the line") if m.score >= line else "below the line"
            st.caption(f"score {m.score:.2f} · {why}")


def compare_controls(rec: AnalysisRecord, key: str, ended: list[JobView]) -> None:
    """Compare runs as a server job (a reload or page switch does not stop it); progress and outcomes show above
    the expander, where they stay in view after the click. ``ended``: what ``take_compared`` collected."""
    jobs_area = st.container()
    with st.expander("Compare with another model"):
        spec = model_picker(f"{key}.cmp_model", exclude=rec.model)
        name = spec.name if spec else None
        if name:
            st.caption(f"Its scores are saved in History as an analysis of {rec.source_name} with {name}.")
        if name and st.button("Score this video with it and overlay", key=f"{key}.cmp_go"):
            # name: an upload is kept under its hash; the comparison is filed under the name the user knows
            started = start_analysis(
                rec.video_path,
                name,
                rec.scoring,
                rec.events,
                label=f"{rec.source_name} with {name}",
                source_uri=rec.source_uri,
                name=rec.source_name,
                overlay_on=rec.id,
            )
            if started is not None:
                wait_briefly(started)
                st.rerun()  # the chart, drawn above, takes the overlay (or the progress shows) in the next run
    with jobs_area:
        show_compare_jobs(rec.id, ended)


def export_controls(rec: AnalysisRecord, key: str) -> None:
    st.markdown("#### Export")
    stem = Path(rec.source_name).stem or "analysis"
    # a wrapping row of full-width labels: five fixed columns cut them to "Segments…" twice on a laptop
    row = st.container(horizontal=True, wrap=True)
    # Callables: each file is built only when its button is clicked, not on every rerun.
    files = [
        ("Scores CSV", lambda: exports.scores_csv(rec), "scores.csv", "text/csv"),
        ("Segments CSV", lambda: exports.segments_csv(rec), "segments.csv", "text/csv"),
        ("Segments JSON", lambda: exports.segments_json(rec), "segments.json", "application/json"),
        ("Thumbnails ZIP", lambda: exports.thumbnails_zip(rec), "thumbnails.zip", "application/zip"),
    ]
    for label, make, suffix, mime in files:
        # "ignore": a click does not rerun the page, whose rerun would drop the deferred file a quick second click
        # on another export asks for ("Deferred file ... not found": nothing downloads)
        row.download_button(
            label, make, f"{stem}_{suffix}", mime, key=f"{key}.dl_{suffix}", width="content", on_click="ignore"
        )
    with row:
        if not rec.segments:
            st.button(
                "Annotated clip",
                disabled=True,
                help="No segment to cut a clip from.",
                key=f"{key}.clip0",
                width="content",
            )
            return
        worst = max(rec.segments, key=lambda s: s.peak)
        # one file per segment and line (the border follows the threshold): a second click downloads it again
        dest = (
            get_store().analyses_dir
            / rec.id
            / f"worst_{worst.start:.1f}_{worst.end:.1f}_{rec.events.threshold:.2f}.mp4"
        )
        video_path, t, score, threshold = rec.video_path, rec.track.t, rec.track.score, rec.events.threshold

        def make_clip() -> bytes:
            # made on the click, on Streamlit's download thread (its button spins meanwhile; st.* is ignored here):
            # one click, like the four exports beside it. A failure reads "Failed to generate file for download".
            if not dest.is_file():
                annotated_clip(open_source(video_path), t, score, worst, threshold, dest)
            return dest.read_bytes()

        st.download_button(
            "Annotated clip",
            make_clip,
            f"{stem}_worst_segment.mp4",
            "video/mp4",
            key=f"{key}.dl_clip",
            width="content",
            on_click="ignore",
            help=f"H.264 clip of the worst segment ({mmss(worst.start)}–{mmss(worst.end)}) with the score drawn on "
            "it; made when clicked, in a few seconds",
        )
