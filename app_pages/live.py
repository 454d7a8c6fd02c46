"""Live: score a webcam (WebRTC) or a server-side stream in real time; email when an anomaly lasts."""

from __future__ import annotations

import time

import altair as alt
import av
import pandas as pd
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from core.access import Identity, show_owner
from core.alerts import AlertConfig, RuleState
from core.errors import VigilError
from core.live import CAMERA_FPS_WINDOW_S, STATS_WINDOW_S, LiveProcessor, LiveSnapshot, ServerSource
from core.mailer import EmailNotConfiguredError, SmtpSettings, send_test
from core.outbox import Outbox, Sender
from core.registry import ModelSpec
from core.scorers.base import Scorer
from ui import state
from ui.alerts_view import render_alert_log
from ui.auth import identity
from ui.cache import get_scorer, test_email_limiter
from ui.live_state import (
    CAMERA,
    SERVER,
    SOURCE_KINDS,
    alert_line,
    connection_stalled,
    email_fate,
    episode_alert,
    last_readings,
    live_session,
    own_sources,
    picture_markdown,
    rule_words,
    shown_source,
    source_kind,
    source_names,
    state_heading,
)
from ui.model_picker import model_picker
from ui.services import app_settings

_RULE_CHANGED = "live-rule-changed"


def _rule_changed() -> None:
    st.session_state[_RULE_CHANGED] = True  # read after the widgets are drawn: see apply_rule


def rule_controls(defaults: AlertConfig) -> AlertConfig:
    """Threshold, N, cooldown, cap: defaults from the settings (VIGIL_ALERT_*), or the rule of the user's running
    server source (a new tab must not show one rule while the source runs another); changed here per session and
    kept across page switches (Streamlit forgets a widget's value once its page is left)."""
    with st.expander("Alert rule", expanded=False):
        c1, c2, c3, c4 = st.columns(4)
        # Short labels and formats: at 1024 px beside the sidebar a field shows ~6 characters ("120.00" was cut).
        threshold = c1.slider(
            "Threshold",
            0.05,
            0.99,
            state.kept("live-thr", defaults.threshold),
            0.01,
            key="live-thr",
            on_change=_rule_changed,
            help="Compared with the smoothed score (0..1, averaged over the last second).",
        )
        seconds = c2.number_input(
            "Alert after (s)",
            0.0,
            600.0,
            state.kept("live-n", float(defaults.seconds)),
            0.5,
            format="%.1f",
            key="live-n",
            on_change=_rule_changed,
            help="How long the smoothed score must stay above the threshold before an alert.",
        )
        cooldown = c3.number_input(
            "Cooldown (s)",
            0.0,
            86400.0,
            state.kept("live-cool", float(defaults.cooldown)),
            10.0,
            format="%.0f",
            key="live-cool",
            on_change=_rule_changed,
            help="After an email, the source stays quiet this long.",
        )
        cap = c4.number_input(
            "Emails / hour",
            1,
            1000,
            state.kept("live-cap", int(defaults.cap_per_hour)),
            1,
            key="live-cap",
            on_change=_rule_changed,
            help="The cap: beyond it, one digest email summarises what was held back.",
        )
        for key, value in (("live-thr", threshold), ("live-n", seconds), ("live-cool", cooldown), ("live-cap", cap)):
            state.keep(key, value)
        st.caption(
            "An email goes out when the score, averaged over the last second, stays above the threshold for "
            "the set time. After an email a source stays quiet for the cooldown. Beyond the hourly cap, one "
            "digest email summarises what was held back. A change applies at once to the browser camera and "
            "to your running server sources."
        )
    return defaults.with_threshold(
        threshold,
        seconds=float(seconds),
        cooldown=float(cooldown),
        cap_per_hour=int(cap),
    )


def apply_rule(cfg: AlertConfig, who: Identity) -> None:
    """After the user changed the rule: it applies to their running server sources now (their cooldowns and
    hourly caps survive; core.alerts.SustainedRule.reconfigure). Only on a change, so a tab still showing an
    older rule does not put it back on every rerun."""
    if not st.session_state.pop(_RULE_CHANGED, False):
        return
    sources = own_sources(who)
    changed = [s.label for s in sources if s.processor.cfg != cfg]
    for src in sources:
        src.processor.set_config(cfg)
    if changed:
        st.toast(f"Rule applied to {', '.join(changed)}: {rule_words(cfg)}.")


def apply_model(spec: ModelSpec | None, who: Identity) -> None:
    """After the user picked another model: it scores their running server sources from each one's next frame (its
    open episode starts over, its cooldown and the hourly cap hold: LiveProcessor.set_model). Loaded here first, so
    a model that cannot load (missing weights) leaves every source on its model, and the page says why."""
    sources = own_sources(who)
    if not sources:
        return
    if spec is None:  # the picker says why it cannot run here
        kept = ", ".join(f"{s.label}: {s.processor.next_model}" for s in sources)
        st.warning(f"Your running server sources keep their model ({kept}).")
        return
    label = f"{spec.name} v{spec.version}"
    changed = [(s, s.processor.next_model) for s in sources if s.processor.next_model != label]
    if not changed:
        return
    try:
        scorer = get_scorer(spec.name)
    except VigilError as err:
        kept = ", ".join(f"{s.label}: {was}" for s, was in changed)
        st.error(f"{label} could not be loaded, so your running server sources keep their model ({kept}). {err}")
        return
    for src, _ in changed:
        src.processor.set_model(scorer, label, spec.name)
    which = ", ".join(f"{s.label} (was {was})" for s, was in changed)
    st.toast(f"{label} now scores {which}: an open episode starts over; cooldowns and the hourly cap hold.")


def camera_model(spec: ModelSpec | None) -> tuple[tuple[str, str], Scorer, str] | None:
    """What the browser camera scores with, as (key, scorer, label) for ``LiveSession.camera_processor``: the picked
    model once it loads; a playing camera keeps its model when the picked one cannot run or load (said here); None
    when there is nothing to run (the page asks for an available model)."""
    session = live_session()
    playing = session.processor if session.playing else None
    if spec is not None:
        label = f"{spec.name} v{spec.version}"
        try:
            scorer = get_scorer(spec.name)
        except VigilError as err:
            if playing is None:
                raise
            st.error(f"{label} could not be loaded, so the camera keeps scoring with {playing.model}. {err}")
        else:
            key = (spec.name, spec.version)
            if playing is not None and session.processor_key != key:
                st.toast(
                    f"The camera now scores with {label}: an open episode starts over; the cooldown and the "
                    "hourly cap hold."
                )
            return key, scorer, label
    if playing is None or session.processor_key is None:
        return None
    if spec is None:
        st.warning(f"The camera keeps scoring with {playing.model}.")
    return session.processor_key, playing.scorer, playing.model


def live_chart(snap: LiveSnapshot, live: bool = True) -> alt.Chart:
    """The last minute of scores; once frames stopped (not ``live``), the minute before the last frame, titled so."""
    now = snap.history[-1][0] if snap.history else time.time()
    df = pd.DataFrame(snap.history, columns=["t", "score", "smoothed"])
    df["seconds ago"] = df["t"] - now
    long = df.melt("seconds ago", ["score", "smoothed"], var_name="series", value_name="value")
    if live and snap.current:
        title = "seconds (last minute)"
    else:
        title = "seconds (the minute before the video stopped; not live)"
    x = alt.X("seconds ago:Q", scale=alt.Scale(domain=[-60, 0]), title=title)
    y = alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title="anomaly score")
    lines = (
        alt.Chart(long)
        .mark_line(clip=True)
        .encode(x=x, y=y, color=alt.Color("series:N", scale=alt.Scale(range=["#888888", "#ff4b4b"])))
    )
    rule = alt.Chart(pd.DataFrame({"threshold": [snap.threshold]})).mark_rule(strokeDash=[4, 4]).encode(y="threshold:Q")
    return (lines + rule).properties(height=220)


def show_snapshot(
    snap: LiveSnapshot | None,
    idle_text: str,
    chart: bool = True,
    playing: bool | None = None,
    email_configured: bool = True,
    stop_reason: str | None = None,
) -> None:
    """State in words, measured fps/latency and (``chart``) the last minute's scores at full width. A server
    source's picture (``snap.picture``) and its state heading are one element (``picture_markdown``): both come
    from one view and reach the browser together, so they agree. ``playing``: the browser camera's state (None:
    a server source); a playing camera without frames yet reads "connecting". Once frames stop, the state reads
    "stopped" / "no video" (with ``stop_reason`` when known) and the last readings are one dated line, not
    metrics that look current."""
    if snap is None or (not snap.running and not snap.history and not playing):
        st.info(idle_text)
        return
    live = snap.current and playing is not False
    current = episode_alert(snap)
    fresh = Outbox().get(current.id) if current is not None else None
    email = email_fate(fresh, email_configured) if live and snap.status.state == RuleState.ALERTED else ""
    heading = state_heading(snap, email, playing)
    if snap.picture is not None:
        pic, info = st.columns([3, 2])
        pic.markdown(picture_markdown(snap.picture, heading), unsafe_allow_html=True)
    else:
        info = st.container()
        info.markdown(f"### {heading}")
    with info:
        if live:
            metrics(snap)
        else:
            st.caption(last_readings(snap, playing, stop_reason))
        if snap.last_alert is not None:
            st.caption(alert_line(snap, Outbox().get(snap.last_alert.id), email_configured))
    if snap.error:
        st.error(snap.error)
    if chart:
        st.altair_chart(live_chart(snap, live), width="stretch")


def metrics(snap: LiveSnapshot) -> None:
    """Four short tiles, two per row: a narrow column (the camera's, at 1024 px) must not cut a label or value."""
    m1, m2 = st.columns(2)
    m3, m4 = st.columns(2)
    m1.metric(
        "Score",
        f"{snap.status.smoothed:.2f}",
        help="0..1, averaged over the last second: the state follows it; the dashed line is the threshold",
    )
    s, window = snap.stats, f"{STATS_WINDOW_S:.0f} s"
    stalled = s.stalled(snap.readings_at)  # a stuck model: its last rate no longer describes it
    below = f"no score for {snap.readings_at - s.scored_at:.0f} s" if stalled else f"camera {s.camera_fps:.0f}"
    camera_window = f"{CAMERA_FPS_WINDOW_S:.0f} s"
    m2.metric(
        "Scored fps",
        "—" if stalled else f"{s.processed_fps:.1f}",
        delta=below,
        delta_color="off",
        delta_arrow="off",
        help=f"frames scored per second over the last {window}, measured when the score shown was ready; "
        f"below, the frames arriving from the camera per second over the last {camera_window}",
    )
    m3.metric(
        "Latency (ms)",  # the unit in the label: "685 ms" was cut to "685 …" in the camera's column at 1024 px
        f"{s.latency_ms:.0f}",
        help=f"capture → score, median of the last 100 frames (p95 {s.latency_p95_ms:.0f} ms), measured when "
        f"the score shown was ready; the callback itself adds {s.overlay_ms:.1f} ms to the video",
    )
    m4.metric(
        "Skipped",
        f"{s.skipped:.0%}",
        delta=f"last {window}",
        delta_color="off",
        delta_arrow="off",
        help=f"the share of camera frames the model skipped to stay real time (a newer frame replaced them while "
        f"it was busy) over the last {window}; {s.dropped} of {s.frames_in} since the start",
    )


def _served() -> bool:
    """True under a real Streamlit server; streamlit-webrtc needs its session manager (AppTest has none)."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime


def camera_section(proc: LiveProcessor, ice: list[dict]) -> None:
    def on_frame(frame: av.VideoFrame) -> av.VideoFrame:
        # Runs in the WebRTC thread: hand over and draw, nothing else (no st.*, no I/O).
        out = proc.process(frame.to_ndarray(format="bgr24"), media_t=frame.time)
        return av.VideoFrame.from_ndarray(out, format="bgr24")

    if not _served():
        st.info("The webcam needs the app served by `streamlit run app.py`; use a server-side source here.")
        return
    ctx = webrtc_streamer(
        key="live-camera",
        mode=WebRtcMode.SENDRECV,
        rtc_configuration={"iceServers": ice},  # an explicit list: never a public STUN server by default
        media_stream_constraints={"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}, "audio": False},
        video_frame_callback=on_frame,
        async_processing=True,
    )
    # STOP reruns the page: the state fragment then says "stopped"; START after it begins a fresh run
    live_session().set_playing(ctx.state.playing)
    if connection_stalled(live_session(), ctx.state.signalling, ctx.state.playing):
        st.warning(
            "The video connection is not coming up. If the browser asked for the camera, allow it (click the "
            "camera icon in the address bar). Off localhost, the browser needs HTTPS for camera access, and "
            "across networks a TURN server (see *Connection help*)."
        )
    with st.expander("Connection help"):
        st.markdown(
            "- **Camera denied**: allow camera access for this site in the browser (address bar → camera icon), "
            "then press START again. Browsers only offer the camera on `localhost` or over HTTPS.\n"
            "- **Stuck on connecting**: the browser and this server could not reach each other directly. "
            "Configure STUN/TURN servers in `.streamlit/secrets.toml` under `[webrtc] ice_servers` "
            "(see `.streamlit/secrets.toml.example`) or `VIGIL_ICE_SERVERS`.\n"
            f"- ICE servers in use: {len(ice) or 'none (direct connection only)'}."
        )


def server_section(model: tuple[str, str] | None, cfg: AlertConfig, sender: Sender, who: Identity) -> None:
    """The source fields and Start (``model``: (name, label), None when the picked one cannot run), then the
    user's sources. While one of theirs plays, the fields fold into "Start another source": the panel above
    is what they came to watch (at 1280x800 the form and rows pushed it below the fold)."""
    quota = app_settings().access
    playing = any(s.running for s in ServerSource.visible_to(who))
    with st.expander("Start another source", expanded=False) if playing else st.container():
        start_form(model, cfg, sender, who, quota)
    source_list(who, quota)


def start_form(model: tuple[str, str] | None, cfg: AlertConfig, sender: Sender, who: Identity, quota) -> None:
    """The URL field, Loop and Start; a started source becomes the one the panel shows."""
    uri = st.text_input(
        "Stream URL or video file on the server",
        state.kept("live-uri", ""),
        key="live-uri",
        placeholder="rtsp://camera.local:554/stream  ·  http://host/feed.mjpg  ·  /srv/videos/door.mp4",
    )
    loop = st.checkbox("Loop a file", value=state.kept("live-loop", True), key="live-loop")
    state.keep("live-uri", uri)
    state.keep("live-loop", loop)
    if st.button("Start monitoring", type="primary", key="live-start", disabled=not uri.strip() or model is None):
        name, label = model  # type: ignore[misc]  # the button is disabled without one
        try:
            proc = LiveProcessor(
                get_scorer(name),
                label,
                cfg,
                outbox=Outbox(),
                on_alert=lambda rec: sender.wake(),
                source=uri.strip(),
                owner=who.owner,
                model_name=name,
            )
            src = ServerSource(uri, proc, loop=loop, owner=who.owner)
            proc.source = src.label  # emails and the log name the source without credentials
            src.start(quota=quota)
        except VigilError as err:
            st.error(str(err))
        else:
            st.session_state[_SHOWN] = src.id  # the user wants to see what they just started
            st.rerun()  # drawn again with the source known: its model note above, its rule in the controls


@st.fragment(run_every=2.0)
def source_list(who: Identity, quota) -> None:
    """The sources ``who`` may stop, with their state: a fragment, so "connecting" turns into "running"."""
    running = ServerSource.visible_to(who)  # your own; an admin sees everyone's
    total = sum(1 for s in ServerSource.active() if s.running)
    st.caption(
        "Server-side sources keep running when this tab is closed; yours are listed here to stop them. "
        f"{total} of {quota.max_sources} running on this server (at most {quota.max_sources_per_user} per user)."
    )
    for src in running:
        c1, c2 = st.columns([4, 1])
        c1.markdown(source_row(src))
        # a failed or ended source plays nothing and counts against no quota: dismissed, not stopped
        if c2.button("Stop" if src.running else "Remove", key=f"live-stop-{src.id}"):
            try:
                src.stop_by(who)
            except VigilError as err:
                st.error(str(err))
            else:
                st.rerun()


def source_row(src: ServerSource) -> str:
    """'**door.mp4** — running · vigil v1 · score above 0.60 for 3 s, cooldown 120 s': its state, model and the
    rule it runs with (a playing one), or its problem; the owner only when there is a login."""
    owner = f" · owner {show_owner(src.owner)}" if src.owner else ""
    if not src.running:  # failed or ended: one line, in red when it failed
        words = f":red[{src.status_words()}]" if src.state == "failed" else src.status_words()
        problem = f": {src.error}" if src.error else ""
        return f"**{src.label}** — {words}{problem}{owner}"
    problem = f": {src.error}" if src.error else ""
    proc = src.processor
    model = proc.model if proc.next_model == proc.model else f"{proc.model}, switching to {proc.next_model}"
    rule = f" · {model} · {rule_words(proc.cfg)}"
    return f"**{src.label}** — {src.status_words()}{problem}{rule}{owner}"


def email_section(settings: SmtpSettings | None, who: Identity) -> None:
    with st.expander("Email", expanded=settings is None):
        if settings is None:
            st.info(
                "Email is not configured, so alerts are logged and wait here until it is. Set `[smtp]` in "
                "`.streamlit/secrets.toml` (see the example file) or `VIGIL_SMTP_HOST`, `VIGIL_ALERT_TO`, …"
            )
        else:
            st.caption(f"Alerts go to {settings.describe()}")
        if st.button("Send test email", key="live-test-email", disabled=settings is None):
            try:
                # Per user and process-wide, so neither reruns nor new tabs make it unlimited.
                test_email_limiter(app_settings().access.test_emails_per_hour).acquire(who.display, "test emails")
                with st.spinner("Sending…"):
                    send_test(settings, time.strftime("%Y-%m-%d %H:%M:%S %Z"))  # type: ignore[arg-type]
                # a toast, not a message: fragments rerun, not the page, so a message stayed for the whole session
                st.toast(f"Test email sent to {', '.join(settings.to)}.", icon=":material/mail:")  # type: ignore[union-attr]
            except VigilError as err:  # EmailError, or the hourly limit
                st.error(str(err))


_SHOWN = "live-shown-source"  # the id of the server source the panel shows (this session's choice)


def _show_server() -> None:
    """The "Show it" button: the source choice becomes the server's (a callback runs before the radio is redrawn)."""
    st.session_state["live-kind"] = SERVER  # kept once the radio is drawn with it


def page() -> None:
    st.title("Live")
    st.caption(
        "Watch a camera in real time. The picture shows the anomaly score; an email with a snapshot goes "
        "out when something abnormal lasts."
    )
    # a running server source's panel goes here, first: at 1280x800 the rule, model and source fields above it
    # put the picture below the fold, and watching is what the page is opened for
    first = st.container()
    conf = app_settings()
    who = identity()
    mine = own_sources(who)
    cfg = rule_controls(mine[-1].processor.cfg if mine else conf.alerts)
    apply_rule(cfg, who)
    try:
        settings: SmtpSettings | None = conf.smtp.ready()
    except EmailNotConfiguredError:
        settings = None
    sender = Sender.shared()
    sender.configure(settings)

    before = state.kept("live-model", None)  # None: a new tab, which opens on the newest source's model
    spec = model_picker(
        "live-model",
        empty="No models are registered.",
        preferred=before or (mine[-1].processor.model_name if mine else None) or None,
    )
    picked = state.keep("live-model", st.session_state.get("live-model"))
    if before is not None and picked != before:  # only a change: a tab showing an older model must not put it back
        apply_model(spec, who)
    model = (spec.name, f"{spec.name} v{spec.version}") if spec else None
    running = [s.label for s in ServerSource.visible_to(who) if s.running]
    kind = st.radio(
        "Source",
        SOURCE_KINDS,
        index=SOURCE_KINDS.index(source_kind(state.kept("live-kind", None), bool(running))),
        horizontal=True,
        key="live-kind",
    )
    state.keep("live-kind", kind)
    if kind == CAMERA and running:  # a monitor runs out of sight: say so, one click away
        c1, c2 = st.columns([4, 1])
        c1.info(f"A server-side source is running: {', '.join(running)}.")
        c2.button("Show it", key="live-show-server", on_click=_show_server)
    proc: LiveProcessor | None = None
    if kind == CAMERA:
        chosen = camera_model(spec)
        if chosen is None:
            st.info("Pick an available model to start.")
        else:
            proc = live_session().camera_processor(*chosen, cfg, sender, owner=who.owner)
            left, right = st.columns([3, 2])
            with left:
                camera_section(proc, conf.webrtc.ice_servers)

    @st.fragment(run_every=1.0)
    def camera_state() -> None:
        snap = proc.snapshot() if proc else None
        show_snapshot(
            snap,
            "Press START to begin (the browser asks for the camera).",
            chart=False,
            playing=live_session().playing,
            email_configured=settings is not None,
            stop_reason=live_session().stop_reason,
        )

    @st.fragment(run_every=1.0)
    def live_panel() -> None:
        """Under the source, at full width: the chart gets room to read (a narrow column squeezed it)."""
        if kind == CAMERA:
            snap = proc.snapshot() if proc else None
            if snap is not None and (snap.running or snap.history):
                st.altair_chart(live_chart(snap, live_session().playing), width="stretch")
            return
        visible = ServerSource.visible_to(who)
        # a source that failed before its first frame has nothing to show: its row says why
        sources = [s for s in visible if s.running or s.processor.snapshot().history]
        if not sources:
            failed = [s.label for s in visible if s.state == "failed"]
            if failed:
                st.info(f"Nothing to show: {', '.join(failed)} failed (its row says why). Start another source.")
            else:
                show_snapshot(None, "Start a server-side source to see it here.")
            return
        ids = [s.id for s in sources]
        chosen = shown_source(ids, st.session_state.get(_SHOWN))
        if len(sources) > 1:
            names = dict(zip(ids, source_names([s.label for s in sources]), strict=True))
            chosen = st.radio(
                "Show",
                ids,
                index=ids.index(chosen),
                format_func=names.__getitem__,
                horizontal=True,
                key=f"live-shown-{'-'.join(ids)}",  # a new widget when the sources change: its index is the choice
            )
        st.session_state[_SHOWN] = chosen
        src = next(s for s in sources if s.id == chosen)
        if len(sources) == 1:  # above the Source fields, the panel names what it shows
            st.caption(f"Showing **{src.label}** (server source)")
        show_snapshot(src.snapshot(), "Connecting…", email_configured=settings is not None)

    if kind == CAMERA and proc is not None:
        with right:
            camera_state()
        live_panel()
    elif kind == SERVER:
        server_section(model, cfg, sender, who)  # without a model, the user's sources still show (and stop)
        with first if running else st.container():
            live_panel()

    email_section(settings, who)

    @st.fragment(run_every=3.0)
    def alert_log() -> None:
        st.subheader("Alert log")
        render_alert_log(limit=30, key="live-alerts", owner=None if who.admin else who.owner)

    alert_log()


try:
    page()
except VigilError as err:  # every user-facing problem is a message, never a traceback
    st.error(str(err))
