"""The Live page's per-session state, behind typed helpers."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import streamlit as st

from core.access import Identity
from core.alerts import AlertConfig, RuleState
from core.live import STATE_HUES, STATS_WINDOW_S, LiveProcessor, LiveSnapshot, ServerSource, state_words
from core.outbox import AlertRecord, Outbox, Sender
from core.scorers.base import Scorer

_KEY = "live_page"

CAMERA, SERVER = "Browser camera", "Server stream or file"
SOURCE_KINDS = [CAMERA, SERVER]

# Material icons, not emoji: coloured-circle emoji render as empty boxes where the browser lacks an emoji font.
STATE_ICONS = {
    RuleState.NORMAL: ":material/check_circle:",
    RuleState.ANOMALOUS: ":material/warning:",
    RuleState.ALERTED: ":material/notifications_active:",
    RuleState.SUPPRESSED: ":material/notifications_paused:",
    RuleState.COOLDOWN: ":material/schedule:",
}


@dataclass
class LiveSession:
    """What one browser session keeps between reruns: its camera processor and connection timing."""

    processor: LiveProcessor | None = None
    processor_key: tuple | None = None  # (model name, version): a new model means a new processor
    connecting_since: float | None = None  # when WebRTC signalling began without playing yet
    playing: bool = False  # the browser camera's WebRTC state at the last full run (False after STOP)
    stop_reason: str | None = None  # why the camera stopped, when the page can tell (see ``set_playing``)

    def set_playing(self, playing: bool) -> None:
        """The camera's WebRTC state at this run. START after STOP begins a fresh run of the processor (no reading
        of the last run passes for current; its cooldown and cap hold). A stop that came after the frames had
        already stopped (not ``LiveSnapshot.current``) may be a feed that died: ``stop_reason`` says so."""
        if playing and not self.playing:
            self.stop_reason = None
            if self.processor is not None:
                self.processor.new_run()
        elif self.playing and not playing and self.processor is not None:
            snap = self.processor.snapshot()
            # past a minute the page was more likely left (the camera ends with it) than the feed dying
            if snap.frame_age is not None and not snap.current and snap.frame_age < 60.0:
                self.stop_reason = (
                    f"no frames had come for {snap.frame_age:.0f} s before it stopped; the connection may have dropped"
                )
        self.playing = playing

    def camera_processor(
        self, key: tuple, scorer: Scorer, model_label: str, cfg: AlertConfig, sender: Sender, owner: str = ""
    ) -> LiveProcessor:
        """The session's camera processor, made once: a new model (``key``: (name, version)) and rule settings are
        pushed into it, so the camera's cooldown and hourly cap survive both (``LiveProcessor.set_model``).
        ``owner`` goes on its alerts."""
        if self.processor is None:
            self.processor = LiveProcessor(
                scorer,
                model_label,
                cfg,
                source="browser camera",
                outbox=Outbox(),
                on_alert=_waker(sender),
                owner=owner,
                model_name=key[0],
            )
        else:
            if self.processor_key != key:
                self.processor.set_model(scorer, model_label, key[0])
            self.processor.set_config(cfg)
        self.processor_key = key
        return self.processor


def _waker(sender: Sender) -> Callable:
    return lambda rec: sender.wake()


def live_session() -> LiveSession:
    if _KEY not in st.session_state:
        st.session_state[_KEY] = LiveSession()
    return st.session_state[_KEY]


def own_sources(who: Identity) -> list[ServerSource]:
    """``who``'s own running server sources, oldest first (an admin's rule or model never changes another user's)."""
    return [s for s in ServerSource.active() if s.owner == who.owner and s.running]


def rule_words(cfg: AlertConfig) -> str:
    """A rule in the words of its alert emails: 'score above 0.60 for 3 s, cooldown 120 s'."""
    return f"score above {cfg.threshold:.2f} for {cfg.seconds:g} s, cooldown {cfg.cooldown:g} s"


def source_names(labels: list[str]) -> list[str]:
    """One name per source for a picker: its label, numbered when two sources share one ('door.mp4 (2)')."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def shown_source(ids: list[str], chosen: str | None) -> str | None:
    """Which source the panel shows: the one this session chose while it is still there, else the newest
    (``ids`` oldest first); None without sources."""
    if chosen in ids:
        return chosen
    return ids[-1] if ids else None


def source_kind(chosen: str | None, server_running: bool) -> str:
    """Which source the page opens on: the one this session chose last (``chosen``, kept across pages); with no
    choice yet (a new tab), a running server source the user may see, so a monitor is never hidden; else the camera."""
    if chosen in SOURCE_KINDS:
        return chosen
    return SERVER if server_running else CAMERA


def connection_stalled(session: LiveSession, signalling: bool, playing: bool, after: float = 15.0) -> bool:
    """True when WebRTC has been negotiating for ``after`` s without video (blocked network, no TURN)."""
    if playing or not signalling:
        session.connecting_since = None
        return False
    if session.connecting_since is None:
        session.connecting_since = time.time()
    return time.time() - session.connecting_since > after


def episode_alert(snap: LiveSnapshot) -> AlertRecord | None:
    """The stored alert of the episode ``snap`` is in (state ALERTED), None while it is still being written
    (naming and saving take a moment) or when the last alert belongs to an earlier episode."""
    a = snap.last_alert
    if a is None or snap.status.state != RuleState.ALERTED or not snap.history:
        return None
    began = snap.history[-1][0] - snap.status.anomalous_for
    return a if a.fired_at >= began - 1.0 else None  # 1 s: a server picture may lag the newest score


def email_fate(rec: AlertRecord | None, configured: bool) -> str:
    """What became of an alert's email, in two or three words: the heading's "alert raised, <this>"."""
    if rec is None:
        return "email being prepared"
    if rec.status == "sent":
        return "email sent"
    if not configured:
        return "email not configured"
    if rec.status == "failed":
        return "email failed, retrying"
    return "email waiting to send"


def state_heading(snap: LiveSnapshot, email: str = "", playing: bool | None = None) -> str:
    """The state line in the picture's own colour (core.live.STATE_HUES): ':orange[:material/warning: anomalous]'.

    ``email``: the current alert's ``email_fate``; ``playing``: the browser camera's state (None for a
    server source). A stopped or silent feed says so instead of its last state, which is no longer current."""
    if playing is False:
        return ":gray[:material/stop_circle: stopped]"
    if snap.frame_age is None:  # started, no frame yet: not "no video", which reads as a feed that died
        return ":gray[:material/hourglass_top: connecting (waiting for the first frame)]"
    if not snap.current:
        return ":gray[:material/videocam_off: no video]"
    state = snap.status.state
    if snap.warming_up:  # in the state's hue: the picture's border has it (a grey heading beside green read as two)
        return f":{STATE_HUES[state]}[:material/hourglass_top: warming up (learning this scene's usual motion)]"
    words = f":{STATE_HUES[state]}[{STATE_ICONS[state]} {state_words(snap.status, email)}]"
    if snap.stats.stalled(snap.readings_at):  # frames come, scores do not: this state is the last score's
        return f"{words} :gray[(no new score for {snap.readings_at - snap.stats.scored_at:.0f} s)]"
    return words


def last_readings(snap: LiveSnapshot, playing: bool | None = None, stop_reason: str | None = None) -> str:
    """Once frames stopped: when, and the last readings, marked as past (not metric tiles). No fps: a rate
    is a figure of a running feed, and the last frames of a stopping one trickle in. ``playing``: the browser
    camera's state (None: a server source); ``stop_reason``: ``LiveSession.stop_reason``."""
    if snap.frame_age is None:
        return "Waiting for the camera's first frame."
    when = time.strftime("%H:%M:%S", time.localtime(snap.readings_at))
    s = snap.stats
    if playing is False:
        lead = f"Camera stopped (last frame {when})"
        if stop_reason:  # a STOP press and a dropped connection look alike here: say what is known
            lead = f"{lead}: {stop_reason}. Press START again"
    elif playing:
        lead = (
            f"No frames for {snap.frame_age:.0f} s (last frame {when}): the camera stopped sending frames. If "
            "none come back, press STOP, then START again"
        )
    else:
        lead = f"No frames for {snap.frame_age:.0f} s (last frame {when})"
    return (
        f"{lead}. Last readings: {snap.status.state.value}, score {snap.status.smoothed:.2f}, latency "
        f"{s.latency_ms:.0f} ms, {s.skipped:.0%} of camera frames skipped (last {STATS_WINDOW_S:.0f} s); "
        f"{s.frames_scored} frames scored and {s.dropped} skipped since the start. The chart shows the minute before."
    )


def alert_line(snap: LiveSnapshot, rec: AlertRecord, email_configured: bool = True) -> str:
    """The last alert in one line, saying whose episode it is: the heading's "anomalous for 18s" is the current
    episode so far, this one's "raised 5 s into" is how long its episode had lasted when the alert fired."""
    when = time.strftime("%H:%M:%S", time.localtime(rec.fired_at))
    current = episode_alert(snap)
    if current is not None and current.id == rec.id:
        whose = " (this episode)"
    elif snap.status.anomalous_for > 0:
        whose = " (an earlier episode)"  # another one is going: the heading's duration is not this alert's
    else:
        whose = ""
    return (
        f"Last alert {when}{whose}: raised {rec.duration:.0f} s into its episode, peak {rec.peak:.2f} — email "
        f"{rec.email_status(configured=email_configured)}"
    )


def picture_markdown(picture: np.ndarray, heading: str) -> str:
    """One markdown element holding a server source's picture (BGR (H, W, 3), inline as a JPEG data URI) and,
    under it, the state heading drawn from the same view. One element reaches the browser whole: an ``st.image``
    beside a heading was a media file fetched after the words had changed, so a yellow "anomalous" picture sat
    beside a green "normal" for a refresh. The heading keeps a fixed height, so the widgets under the panel do
    not jump as its words change."""
    ok, jpeg = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:  # pragma: no cover - a uint8 BGR frame always encodes
        return f"### {heading}"
    data = base64.b64encode(jpeg.tobytes()).decode("ascii")
    img = f'<img src="data:image/jpeg;base64,{data}" alt="the live picture" style="width:100%;border-radius:0.5rem">'
    # two lines of heading kept whatever it says: a wrap that comes and goes moved the widgets below by a line
    return f'{img}\n\n<div style="min-height:6.5rem">\n\n### {heading}\n\n</div>'
