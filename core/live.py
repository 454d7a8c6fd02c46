"""Live engine (no Streamlit): frames in from a camera callback or a server-side stream, scores, overlay,
sustained-anomaly alerts into the outbox.

    camera callback ──submit()──► LatestFrameSlot (1 frame, newest wins) ──► worker thread
         │                                                                   scorer stream (own instance)
         └─annotate() with the latest score ◄── shared view (lock) ◄──────── SustainedRule → Outbox

The callback never waits: ``submit`` replaces whatever frame is waiting and ``annotate`` only draws
the newest score, so the picture keeps the camera's fps while the model runs at its own pace. An alert's
writing (naming its object, drawing its snapshot, the outbox's disk and database work) happens on one alert
thread, in order, so the scoring worker never waits for it; SMTP in the outbox's sender thread.

Clock: epoch seconds (``time.time()``) throughout, so the rule, the outbox and the page agree.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

import cv2
import numpy as np

from core.access import Identity, check_source_quota
from core.alerts import Alert, AlertConfig, EpisodeEnd, RuleState, RuleStatus, SustainedRule
from core.errors import NetworkError, SourceError, VigilError
from core.families.objects import naming
from core.netguard import (
    DEFAULT_PORTS,
    ConnectProxy,
    FetchPolicy,
    IPAddress,
    follow_redirects,
    pin_url,
    strip_credentials,
)
from core.outbox import AlertRecord, Outbox
from core.overlay import ABOVE, ALERT, COOLDOWN, NORMAL, Overlay, annotate, draw_named
from core.paths import ForbiddenPathError, ServerPaths, server_paths
from core.rtsp_relay import RtspRelay
from core.scorers.base import Evidence, Scorer, ScoringStream
from core.settings import AccessSettings
from core.sources import NOT_A_VIDEO_NEXT

log = logging.getLogger("vigil.live")

HISTORY_S = 60.0  # the page charts the last minute
STATS_WINDOW_S = 2.0  # fps is measured over this trailing window
CAMERA_FPS_WINDOW_S = 10.0  # the camera's rate: frames arrive in bursts, 2 s read 7, 39, 14 fps for a 25 fps file
WARMUP_HINT_S = 10.0  # "warming up" is shown at most this long while every score is still 0
STALE_S = 3.0  # no frame for this long: the feed has stopped or stalled, the readings are not current
MEDIA_SLEW = 0.05  # a late first frame's delay is taken back by at most this share of each frame's media step
IDLE_STOP_S = 20.0  # a worker with no frames for this long ends (the tab was closed); restarts on demand
STREAM_SCHEMES = {"rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "srt", "udp", "tcp"}

# BGR colours per rule state: what the border and the score bar show.
STATE_COLOURS = {
    RuleState.NORMAL: NORMAL,
    RuleState.ANOMALOUS: ABOVE,
    RuleState.ALERTED: ALERT,
    RuleState.SUPPRESSED: ALERT,
    RuleState.COOLDOWN: COOLDOWN,
}
# The same colours by name, for a page's words (Streamlit's green/orange/red/blue), so text and picture agree.
STATE_HUES = {
    RuleState.NORMAL: "green",
    RuleState.ANOMALOUS: "orange",
    RuleState.ALERTED: "red",
    RuleState.SUPPRESSED: "red",
    RuleState.COOLDOWN: "blue",
}


def state_words(status: RuleStatus, email: str = "") -> str:
    """``status.words(email)``, with a countdown that never reads "0s left": whole seconds rounded up, and
    "cooldown ending" once none is left (a countdown advanced in wall time, see ``LiveProcessor.snapshot``)."""
    if status.state != RuleState.COOLDOWN:
        return status.words(email)
    lasting = f" for {status.anomalous_for:.0f}s" if status.anomalous_for >= 1.0 else ""
    extra = f", anomalous{lasting}" if status.anomalous_for > 0 else ""
    if status.cooldown_left <= 0:
        return f"cooldown ending ({extra[2:]})" if extra else "cooldown ending"
    return f"cooldown ({math.ceil(status.cooldown_left)}s left{extra})"


class LiveSourceError(SourceError):
    """A server-side live source (stream URL or file) cannot be opened or read."""


class LatestFrameSlot:
    """A bounded queue of size one: ``put`` never blocks and replaces a waiting item (counted as dropped)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._item: tuple[np.ndarray, float, float] | None = None
        self.dropped = 0

    def put(self, frame: np.ndarray, t: float, arrival: float | None = None) -> bool:
        """``t``: the frame's time for scoring; ``arrival``: when it reached us (for latency).
        True when a waiting frame was replaced (dropped: the model never sees it)."""
        with self._cond:
            replaced = self._item is not None
            self.dropped += replaced
            self._item = (frame, t, t if arrival is None else arrival)
            self._cond.notify()
            return replaced

    def get(self, timeout: float) -> tuple[np.ndarray, float, float] | None:
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item


@dataclass(frozen=True)
class LiveStats:
    """Measured, not assumed. Rates over the last ``STATS_WINDOW_S``; latencies in ms over the last 100 frames.

    The scored figures (``processed_fps``, ``latency_ms``, ``latency_p95_ms``) are measured once per scored
    frame, at ``scored_at`` (clock s), and stored with its score: every reader gets that one measurement. A
    rate recomputed at each reader's own moment as (n-1)/(now - oldest) read 11 fps just after a score and
    4.2 fps 150 ms later on a loaded machine. The feed figures (``camera_fps``, ``skipped``, the totals) are
    measured when the snapshot is taken.

    ``latency_ms``: capture (callback) -> score ready, i.e. queue wait + scoring: how far the overlay's
    score lags the picture. ``overlay_ms``: time the callback itself spends (what the video is delayed).
    ``skipped``: the share (0..1) of the camera frames that arrived over the last ``STATS_WINDOW_S`` that the
    model never saw (replaced by a newer one while it was busy); ``dropped`` is the same, counted since start.
    """

    camera_fps: float = 0.0  # over the last CAMERA_FPS_WINDOW_S
    processed_fps: float = 0.0
    latency_ms: float = 0.0
    latency_p95_ms: float = 0.0
    overlay_ms: float = 0.0
    frames_in: int = 0
    frames_scored: int = 0
    dropped: int = 0
    skipped: float = 0.0
    scored_at: float | None = None  # clock s of the scored frame the scored figures describe (None: none yet)

    def stalled(self, now: float) -> bool:
        """The last score is older than ``STALE_S`` at ``now`` (clock s): its rate no longer describes the model."""
        return self.scored_at is not None and now - self.scored_at > STALE_S


@dataclass(frozen=True)
class LiveSnapshot:
    """What a page shows: the last minute of scores, the rule's state, the stats, the last alert."""

    running: bool
    model: str
    score: float  # latest raw score (0..1)
    status: RuleStatus
    history: list[tuple[float, float, float]]  # (epoch s, raw score, smoothed score), oldest first
    stats: LiveStats
    threshold: float
    warming_up: bool  # the model has not produced a non-zero score yet (e.g. motion's 3 s baseline)
    last_alert: AlertRecord | None = None
    error: str | None = None  # the last problem, in words (scoring failed, outbox write failed...)
    picture: np.ndarray | None = None  # a server source's newest annotated frame (BGR), drawn with ``status``
    frame_age: float | None = None  # s since the last frame arrived (None before the first)
    readings_at: float = 0.0  # epoch s the stats describe: now, or the last activity once frames stopped

    @property
    def current(self) -> bool:
        """Frames are arriving (one within ``STALE_S``): the state and stats describe now."""
        return self.frame_age is not None and self.frame_age <= STALE_S


def _aged(view: _View, now: float) -> _View:
    """``view`` at ``now`` (clock s): while no score has come for ``STALE_S`` (a stuck model), its cooldown
    counts down in wall time; a countdown frozen at the last score read "34s left" for 20 s."""
    scored_at, left = view.stats.scored_at, view.status.cooldown_left
    if scored_at is None or left <= 0 or now - scored_at <= STALE_S:
        return view
    return replace(view, status=replace(view.status, cooldown_left=max(0.0, left - (now - scored_at))))


@dataclass
class _View:
    """The worker's latest results; replaced whole under the lock and only read by ``annotate``."""

    score: float = 0.0
    status: RuleStatus = field(default_factory=lambda: RuleStatus(RuleState.NORMAL, 0.0, 0.0, 0.0, False))
    evidence: Evidence = field(default_factory=Evidence.empty)
    scored_size: tuple[int, int] = (0, 0)  # (h, w) of the frame the evidence refers to
    stats: LiveStats = field(default_factory=LiveStats)  # the scored figures, measured when this score was ready


class LiveProcessor:
    """Scores frames handed over by a callback, keeps the rule and writes alerts. Thread-safe API.

    ``process(frame)`` is what a WebRTC ``video_frame_callback`` calls: it submits and returns the
    annotated frame at once. ``snapshot()`` is what the page's fragment reads.
    """

    def __init__(
        self,
        scorer: Scorer,
        model: str,
        cfg: AlertConfig | None = None,
        source: str = "camera",
        outbox: Outbox | None = None,
        on_alert: Callable[[AlertRecord], None] | None = None,
        clock: Callable[[], float] = time.time,
        idle_stop: float = IDLE_STOP_S,
        owner: str = "",
        model_name: str = "",
    ):
        """``model``: the model as shown ("vigil v1"); ``model_name``: its registry name ("" when not registered)."""
        self.scorer, self.model, self.source = scorer, model, source
        self.model_name = model_name
        self.owner = owner  # recorded on every alert ("" without login)
        self.cfg = cfg or AlertConfig()
        self.outbox, self.on_alert = outbox, on_alert
        self.clock, self.idle_stop = clock, idle_stop
        self.rule = SustainedRule(self.cfg)  # only the worker touches it (status via snapshots)
        self._slot = LatestFrameSlot()
        self._lock = threading.Lock()
        self._view = _View()
        self._history: deque[tuple[float, float, float]] = deque()
        self._in_times: deque[float] = deque()
        self._drop_times: deque[float] = deque()  # arrival times of the frames the slot replaced
        self._done_times: deque[float] = deque()  # the window's, and the last one before it (see _scored_stats_locked)
        self._latencies: deque[float] = deque(maxlen=100)
        self._overlay: deque[float] = deque(maxlen=100)
        self._frames_in = self._frames_scored = 0
        self._pending_cfg: AlertConfig | None = None
        self._pending_model: tuple[Scorer, str, str] | None = None  # (scorer, model, model_name), see set_model
        self._pending_restart = False  # new_run: the worker restarts the rule's open episode before its next frame
        self._last_alert: AlertRecord | None = None
        self._alert_ids: dict[float, str] = {}  # Alert.t -> stored id (alert thread only), to record its episode's end
        self._error: str | None = None
        self._seen_score = False
        self._first_t: float | None = None  # clock time of the first scored frame
        self._last_in: float | None = None  # clock time the last frame arrived
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._peak: tuple[float, np.ndarray, Evidence] | None = None  # (t, frame, evidence) of the episode peak
        self._media_offset: float | None = None  # epoch - media time, see _media_to_epoch
        self._last_media_t = float("-inf")
        # names the object behind an object-caused alert; loads on its own thread (only alerts need it)
        self.namer = AlertNamer() if outbox is not None else None
        # writes alerts in order off the scoring thread (naming one is a ~120 ms detection)
        self._writer = ThreadPoolExecutor(1, "vigil-live-alerts") if outbox is not None else None

    # --- called from the camera / callback thread: never blocks ---------------------------------
    def submit(self, frame: np.ndarray, t: float | None = None, media_t: float | None = None) -> None:
        """Hand a BGR uint8 frame (H,W,3) to the worker.

        ``t``: its capture time (epoch s). Without it, ``media_t`` (the stream's own timestamp, s, e.g.
        a WebRTC frame's pts) is mapped onto the epoch clock, and failing that the arrival time is used.
        Media timestamps matter: frames arrive in network bursts, and flow speed = shift / dt would
        read a burst (tiny dt) as violent motion.
        """
        arrival = self.clock()
        if t is None:
            t = arrival if media_t is None else self._media_to_epoch(media_t, arrival)
        replaced = self._slot.put(frame, t, arrival)
        with self._lock:
            self._frames_in += 1
            self._last_in = arrival
            self._in_times.append(arrival)
            self._trim(self._in_times, arrival, CAMERA_FPS_WINDOW_S)
            if replaced:
                self._drop_times.append(arrival)
            self._trim(self._drop_times, arrival)
        if not self.running and not self._stop.is_set():
            self._start_worker()

    def annotate(self, frame: np.ndarray) -> np.ndarray:
        """The frame with the latest score, state colour and evidence drawn on it (in place)."""
        return self._annotate(frame)[0]

    def _annotate(self, frame: np.ndarray) -> tuple[np.ndarray, _View]:
        with self._lock:
            view = _aged(self._view, self.clock())
        return draw_overlay(frame, view, self.cfg.threshold, self.model), view

    def _media_to_epoch(self, media_t: float, arrival: float) -> float:
        """Epoch s of a frame at stream time ``media_t`` (s) that arrived at ``arrival`` (epoch s).

        A stream (a timestamp going backwards starts a new one) is anchored by its first frame, which is often the
        most delayed: its times then run ahead of the clock by that extra delay. A frame that arrives sooner after
        its capture lowers the offset towards its own, by at most ``MEDIA_SLEW`` of the media step since the frame
        before: times never go backwards and frames stay at least 95 % of their capture spacing apart (a motion
        model reads no burst). Moving the offset at once sent times backwards and cut the open episode short."""
        if self._media_offset is None or media_t < self._last_media_t:
            self._media_offset = arrival - media_t
        elif arrival - media_t < self._media_offset:
            slewed = self._media_offset - MEDIA_SLEW * (media_t - self._last_media_t)
            self._media_offset = max(arrival - media_t, slewed)
        self._last_media_t = media_t
        return media_t + self._media_offset

    def process(self, frame: np.ndarray, t: float | None = None, media_t: float | None = None) -> np.ndarray:
        """submit + annotate: the whole job of a video frame callback."""
        return self._process(frame, t, media_t)[0]

    def _process(
        self, frame: np.ndarray, t: float | None = None, media_t: float | None = None
    ) -> tuple[np.ndarray, _View]:
        """``process``, also returning the view drawn on the frame (what a page must say beside it)."""
        t0 = time.perf_counter()
        self.submit(frame, t, media_t)
        out = self._annotate(frame.copy())  # the worker scores the original: drawn pixels would read as motion
        with self._lock:
            self._overlay.append(time.perf_counter() - t0)
        return out

    # --- control ---------------------------------------------------------------------------------
    def set_config(self, cfg: AlertConfig) -> None:
        """New rule settings; applied by the worker before its next frame (cooldowns survive)."""
        if cfg != self.cfg:
            self.cfg = cfg
            with self._lock:
                self._pending_cfg = cfg

    def new_run(self) -> None:
        """The same camera starts again (START after STOP): what the page shows starts afresh (no state, score,
        chart, rates or totals of the last run, which read as current once ``playing``), and the rule's open
        episode and smoothing restart before the next frame; its cooldown and hourly cap hold."""
        with self._lock:
            self._view = _View()
            for buf in (self._history, self._in_times, self._drop_times, self._done_times, self._latencies):
                buf.clear()
            self._frames_in = self._frames_scored = 0
            self._seen_score, self._first_t, self._last_in, self._error = False, None, None, None
            self._media_offset, self._last_media_t = None, float("-inf")  # a new stream's clock
            self._pending_restart = True
        with self._slot._cond:
            self._slot.dropped = 0

    def set_model(self, scorer: Scorer, model: str, model_name: str = "") -> None:
        """Score with ``scorer`` (loaded by the caller: a model that cannot load never reaches here) from the next
        frame on. The worker swaps it between two frames: it makes the new stream first, and a stream that cannot
        be made leaves the old model scoring and says why (``snapshot().error``). The swap restarts the source's
        open episode and smoothing (two models' scores are not comparable); cooldowns and the hourly cap hold."""
        with self._lock:
            self._pending_model = (scorer, model, model_name)

    @property
    def next_model(self) -> str:
        """The model scoring from the next frame on: the one ``set_model`` asked for, else the current one."""
        with self._lock:
            return self.model if self._pending_model is None else self._pending_model[1]

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """End the worker (a later ``submit`` will not restart it); alerts it raised are written first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._thread is None or not self._thread.is_alive():  # the rule is the worker's: only once it is gone
            self._end_episode()
        if self._writer is not None:
            # a step still running past the timeout writes its own alerts (see _step); those queued are written now
            self._writer.shutdown(wait=True)

    def snapshot(self, drawn: tuple[np.ndarray, _View] | None = None) -> LiveSnapshot:
        """What a page shows now. ``drawn``: a picture and the view drawn on it (``_process``); the snapshot
        then states that view's score and state, so the words beside a picture never contradict it."""
        with self._lock:
            now = self.clock()
            view = _aged(self._view, now) if drawn is None else drawn[1]  # a picture's view was aged when drawn
            age = None if self._last_in is None else max(0.0, now - self._last_in)
            at = now
            if age is not None and age > STALE_S:
                # frames stopped: the rates as they were at the end, not a decay to 0 that reads as current
                at = max(self._last_in, self._done_times[-1] if self._done_times else self._last_in)
            return LiveSnapshot(
                running=self.running,
                model=self.model,
                score=view.score,
                status=view.status,
                history=list(self._history),
                stats=self._feed_stats_locked(view.stats, at),
                threshold=self.cfg.threshold,
                # No score yet, briefly: a model learning the scene (motion's 3 s baseline), not a dead one.
                warming_up=not self._seen_score and (self._first_t is None or now - self._first_t < WARMUP_HINT_S),
                last_alert=self._last_alert,
                error=self._error,
                picture=None if drawn is None else drawn[0],
                frame_age=age,
                readings_at=at,
            )

    # --- worker ----------------------------------------------------------------------------------
    def _start_worker(self) -> None:
        with self._lock:
            if self.running:
                return
            self._thread = threading.Thread(target=self._run, name=f"vigil-live-{self.source}", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        if self.outbox is not None:  # the hourly cap counts this source's alerts from before a restart (label set now)
            try:
                now = self.clock()
                self.rule.seed_cap(self.outbox.alert_times(self.source, self.owner, now - self.rule.cap_window), now)
            except VigilError:  # an unreadable store: the cap counts from here, as it did
                log.warning("could not read the earlier alerts of %s for the hourly cap", self.source, exc_info=True)
        # One scoring stream per thread, created in it (ultralytics models must not be shared).
        stream: ScoringStream = self._swap_model(None) or self.scorer.stream(live=True)
        idle_since = time.monotonic()
        while not self._stop.is_set():
            item = self._slot.get(timeout=0.25)
            if item is None:
                if time.monotonic() - idle_since > self.idle_stop:
                    self._end_episode()  # an alerted episode ends with the last frame, not at the next one
                    return  # nobody is sending frames any more; submit() starts a fresh worker
                continue
            idle_since = time.monotonic()
            stream = self._swap_model(stream) or stream
            self._step(stream, *item)

    def _swap_model(self, stream: ScoringStream | None) -> ScoringStream | None:
        """The new model's stream when ``set_model`` asked for one and it could be made (worker thread, between
        frames), else None (``stream`` goes on: the old model keeps scoring, and the page is told why)."""
        with self._lock:
            pending, self._pending_model = self._pending_model, None
        if pending is None:
            return None
        scorer, model, name = pending
        try:
            new = scorer.stream(live=True)
        except Exception as err:  # noqa: BLE001 - a model that cannot start must leave the old one scoring
            log.exception("could not switch the live model to %s", model)
            with self._lock:
                self._error = f"Could not switch to {model} ({err}); still scoring with {self.model}."
            return None
        with self._lock:
            self.scorer, self.model, self.model_name = scorer, model, name
            self._seen_score, self._first_t, self._error = False, None, None  # its warm-up is its own
            self._history.clear()  # the chart shows one model's scale: the old minute beside the new read as a jump
        self._peak = None
        self.rule.restart(self.source)  # its scores are on another scale: the open episode ends, cooldowns hold
        self._write_ended()
        return new

    def _step(self, stream: ScoringStream, frame: np.ndarray, t: float, arrival: float) -> None:
        with self._lock:
            cfg, self._pending_cfg = self._pending_cfg, None
            restart, self._pending_restart = self._pending_restart, False
        if restart:
            self._peak = None
            self.rule.restart(self.source)  # a new run: the last one's episode ended with it; cooldowns hold
            self._write_ended()
        if cfg is not None:
            self.rule.reconfigure(cfg)
        try:
            score = stream.update(t, frame)
            evidence = stream.evidence(-1)
        except Exception as err:  # noqa: BLE001 - a model failure must show on the page, not kill the stream
            log.exception("live scoring failed")
            with self._lock:
                self._error = f"Scoring failed: {err}"
            return
        score = float(score or 0.0)
        done = self.clock()
        alerts = self.rule.update(t, score, self.source, evidence.cause)
        peak = self.rule.peak_of(self.source)
        if peak is not None and peak[1] == t:
            self._peak = (t, frame, evidence)
        status = self.rule.status(t, self.source)
        with self._lock:
            self._seen_score = self._seen_score or score > 0
            self._first_t = done if self._first_t is None else self._first_t
            self._history.append((t, score, status.smoothed))
            self._trim(self._history, t, HISTORY_S, key=lambda h: h[0])
            self._done_times.append(done)
            while len(self._done_times) > 1 and self._done_times[1] <= done - STATS_WINDOW_S:
                self._done_times.popleft()  # keeps the last one before the window: the rate's first interval
            self._latencies.append(done - arrival)
            self._frames_scored += 1
            self._view = _View(score, status, evidence, frame.shape[:2], self._scored_stats_locked(done))
        self._write_ended()
        if self._writer is None:
            return
        for alert in alerts:
            peak = None
            if alert.kind == "alert" and self._peak is not None and self._peak[0] == alert.peak_t:
                _, frame, evidence = self._peak  # the rule is the worker's: its status is read here, not there
                peak = (frame, _View(alert.peak, self.rule.status(alert.t, self.source), evidence, frame.shape[:2]))
            try:
                self._writer.submit(self._record, alert, peak, self.model)
            except RuntimeError:  # stop() gave up waiting for this step and shut the writer: write it here
                self._record(alert, peak, self.model)

    def _end_episode(self) -> None:
        """The frames stopped: an alerted episode still open ends at the last scored frame."""
        with self._lock:
            last = self._history[-1][0] if self._history else None
        if last is not None:
            self.rule.end_open(last, self.source)
        self._write_ended()

    def _write_ended(self) -> None:
        """Hand the episodes the rule saw end to the alert thread (after their alerts, which it writes first)."""
        ended = self.rule.pop_ended()
        if self._writer is None:
            return  # no outbox: nothing was stored to complete
        for end in ended:
            try:
                self._writer.submit(self._mark_ended, end)
            except RuntimeError:  # the writer was shut down (stop() gave up waiting): write it here
                self._mark_ended(end)

    def _mark_ended(self, end: EpisodeEnd) -> None:
        alert_id = self._alert_ids.pop(end.fired_t, None)
        if alert_id is None:
            return  # its alert could not be stored
        try:
            self.outbox.mark_ended(alert_id, end.t)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - the episode's length is a detail: the alert itself is stored
            log.exception("could not record when an alert's episode ended")

    def _record(self, alert: Alert, peak: tuple[np.ndarray, _View] | None, model: str) -> None:
        """Write one alert (on the alert thread). ``peak``: the episode's peak frame (BGR, as scored) and the
        view to draw on its snapshot, or None (an alert with no snapshot, e.g. a suppressed one). ``model``: the
        one that scored it (the worker may have swapped models since)."""
        snapshot = None
        if peak is not None:
            frame, view = peak
            found = self.namer.name(frame, view.evidence, alert.cause) if self.namer is not None else None
            if found is not None:
                alert = replace(alert, cause=naming.named(alert.cause, found.label))
            try:
                snapshot = draw_overlay(frame.copy(), view, self.cfg.threshold, model, snapshot_at=alert.peak_t)
                if found is not None:
                    draw_named(snapshot, found.box, found.label)
            except Exception:  # noqa: BLE001 - a picture that cannot be drawn must not cost the alert itself
                log.exception("could not draw an alert's snapshot; the alert goes out without it")
                snapshot = None
        # this thread's exceptions reach no one: every failure is logged and shown on the page
        try:
            rec = self.outbox.record(alert, model, snapshot, self.cfg, owner=self.owner)
        except Exception as err:  # noqa: BLE001 - e.g. a locked database, a full disk
            log.exception("could not store an alert")
            with self._lock:
                self._error = f"Could not store the alert: {err}"
            return
        if alert.kind == "alert":
            self._alert_ids[alert.t] = rec.id
        with self._lock:
            self._last_alert = rec
        if self.on_alert is not None:
            try:
                self.on_alert(rec)
            except Exception:  # noqa: BLE001 - the alert is stored; a failed page wake-up is only logged
                log.exception("the alert callback failed")

    # --- helpers (lock held) ---------------------------------------------------------------------
    @staticmethod
    def _trim(buf: deque, now: float, window: float = STATS_WINDOW_S, key=lambda x: x) -> None:
        while buf and key(buf[0]) < now - window:
            buf.popleft()

    def _scored_stats_locked(self, done: float) -> LiveStats:
        """The scored figures as the frame scored at ``done`` (clock s) leaves them: frames per second over the
        intervals that end inside the last ``STATS_WINDOW_S`` (from the last score before the window, so a lone
        score after a long wait reads as the slow rate it is, not as the burst of its last two)."""
        times = self._done_times
        before = [x for x in times if x <= done - STATS_WINDOW_S]
        recent = [x for x in times if x > done - STATS_WINDOW_S]
        first = before[-1] if before else recent[0]
        intervals = len(recent) if before else len(recent) - 1
        lat = np.array(self._latencies) * 1000.0
        return LiveStats(
            processed_fps=intervals / (done - first) if done > first else 0.0,
            latency_ms=float(np.median(lat)),
            latency_p95_ms=float(np.percentile(lat, 95)),
            frames_scored=self._frames_scored,
            scored_at=done,
        )

    def _feed_stats_locked(self, scored: LiveStats, now: float) -> LiveStats:
        """``scored`` (the shown score's figures) with the camera's, measured at ``now`` (clock s)."""

        def recent(times: deque[float], window: float = STATS_WINDOW_S) -> list[float]:
            return [x for x in times if now - window <= x <= now]

        arrived, longer = recent(self._in_times), recent(self._in_times, CAMERA_FPS_WINDOW_S)
        camera_fps = 0.0
        if len(longer) >= 2:
            span = max(now - longer[0], longer[-1] - longer[0])
            camera_fps = (len(longer) - 1) / span if span > 0 else 0.0
        return replace(
            scored,
            camera_fps=camera_fps,
            overlay_ms=float(np.median(self._overlay) * 1000.0) if self._overlay else 0.0,
            frames_in=self._frames_in,
            frames_scored=self._frames_scored,
            dropped=self._slot.dropped,
            skipped=len(recent(self._drop_times)) / len(arrived) if arrived else 0.0,
        )


class AlertNamer:
    """Says what the object behind an object-caused alert is ("fast object (bicycle)"), when the COCO
    detector's weights are here (``core.families.objects.naming``).

    The detector is loaded (warm: ``ObjectNamer`` runs one blank inference) on its own thread, started with the
    processor: ~1.5-3.5 s on 2 cores that the scoring thread never waits for. Until that is
    done, without weights, or when naming fails, ``name`` returns None and the alert keeps its plain cause.
    Once ready, naming an alert is one detection (~120 ms) on the peak frame.
    """

    def __init__(self):
        self._namer: naming.ObjectNamer | None = None
        self._done = threading.Event()  # the warm-up ended (with a namer or without)
        self._thread = threading.Thread(target=self._warm_up, name="vigil-live-namer", daemon=True)
        self._thread.start()

    def _warm_up(self) -> None:
        try:
            self._namer = naming.object_namer()  # loaded warm (one blank inference)
        except Exception:  # noqa: BLE001 - an optional extra that cannot load leaves alerts plain, never broken
            log.exception("the object detector for Live alerts could not be loaded")
        finally:
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the warm-up ended (tests; never the scoring thread). True when it did."""
        return self._done.wait(timeout)

    @property
    def ready(self) -> bool:
        """A warmed-up detector is here: ``name`` will try."""
        return self._done.is_set() and self._namer is not None

    def name(self, frame: np.ndarray, evidence: Evidence, cause: str) -> naming.Detection | None:
        """The detection naming the culprit of ``evidence`` in ``frame`` (BGR (H, W, 3), the frame the scorer
        was given, so its evidence boxes are in ``frame``'s pixels, as is the detection's box), or None: not an
        object cause, no culprit box, detector not ready, nothing matched, or naming failed. Never waits for
        the warm-up and never raises."""
        if cause not in naming.OBJECT_CAUSES or evidence.culprit < 0 or not self.ready:
            return None
        try:
            return self._namer.name(frame, evidence.boxes[evidence.culprit].astype(np.float64))
        except Exception:  # noqa: BLE001 - never fail an alert because naming failed
            log.exception("naming the object of a Live alert failed")
            return None


# --- overlay (core/overlay.py draws; this says what the live picture shows) ----------------------
def draw_overlay(
    frame: np.ndarray,
    view: _View,
    threshold: float,
    model: str,
    snapshot_at: float | None = None,
) -> np.ndarray:
    """The live picture (BGR, in place): smoothed-score bar, state border, evidence and a status line;
    for an alert snapshot (``snapshot_at``: epoch s of the peak) the line says when and how strange.
    No fps or latency: they are the page's tiles beside the picture, which a video shown with its own delay
    (WebRTC) would contradict by up to a second's change (the tiles read 5.5 fps beside a frame drawn at 6.9)."""
    state = view.status.state
    if snapshot_at is None:
        # the smoothed score: the one the bar fills to, the state follows and the page's Score metric shows
        caption = f"{model}  score {view.status.smoothed:.2f}  {state_words(view.status)}"
    else:
        caption = f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(snapshot_at))}  peak {view.score:.2f}  {model}"
    overlay = Overlay(
        score=view.status.smoothed,
        threshold=threshold,
        colour=STATE_COLOURS[state],
        border="thin" if state == RuleState.NORMAL else "thick",
        evidence=view.evidence,
        evidence_size=view.scored_size,
        caption=caption,
    )
    return annotate(frame, overlay)


# --- server-side source ---------------------------------------------------------------------------
def check_live_uri(uri: str, policy: FetchPolicy | None = None, paths: ServerPaths | None = None) -> str:
    """A stream URL (rtsp/rtmp/http(s)/srt/udp/tcp) whose host is a permitted address, or a video file
    inside the allowed server folders (returned resolved). Raises LiveSourceError (or ForbiddenPathError)."""
    uri = uri.strip()
    if not uri:
        raise LiveSourceError("Enter a stream URL (rtsp://…, http://…) or the path of a video file on the server.")
    scheme = urlparse(uri).scheme.lower()
    if scheme in STREAM_SCHEMES:
        _checked_address(uri, policy)
        return uri
    if scheme == "file":
        raise LiveSourceError("Use the plain path of the file on the server, without file://.")
    if scheme and len(scheme) > 1:  # "C:" style drive letters are paths, anything longer is a scheme
        raise LiveSourceError(f"Unsupported stream type '{scheme}://'. Use rtsp, rtmp, http(s), srt, udp or tcp.")
    try:
        return str((paths or server_paths()).check(uri, kind="file"))
    except ForbiddenPathError:
        raise
    except VigilError:
        raise LiveSourceError(f"No video file at {uri} on the server.") from None


# Schemes without TLS: the checked address replaces the host name, so ffmpeg cannot resolve it again.
PINNABLE_SCHEMES = {"rtsp", "rtmp", "http", "srt", "udp", "tcp"}


def _cannot_open(uri: str) -> LiveSourceError:
    # One wording for forbidden, unresolvable and unreachable hosts (no port or network scanning).
    return LiveSourceError(f"Could not open {strip_credentials(uri)} (unreachable, wrong address or not a video).")


def _checked_ip(uri: str, policy: FetchPolicy | None = None) -> IPAddress:
    """The first of the addresses ``uri``'s host resolves to, all of them permitted; else LiveSourceError."""
    try:
        return (policy or FetchPolicy.from_settings()).check_url(uri)[0]
    except NetworkError:
        raise _cannot_open(uri) from None


def _checked_address(uri: str, policy: FetchPolicy | None = None) -> str:
    """``uri`` after its host resolved to permitted addresses only; pinned to the first where TLS allows."""
    ip = _checked_ip(uri, policy)
    return pin_url(uri, ip) if urlparse(uri).scheme.lower() in PINNABLE_SCHEMES else uri


def _final_target(uri: str, policy: FetchPolicy | None = None, timeout: float = 10.0) -> tuple[str, IPAddress]:
    """The URL ffmpeg may open for ``uri`` and the checked address of its host: for http(s) where its
    redirects end, every hop's host checked (``follow_redirects``); else ``uri`` itself. LiveSourceError."""
    if urlparse(uri).scheme.lower() not in ("http", "https"):
        return uri, _checked_ip(uri, policy)
    try:
        return follow_redirects(uri, policy, timeout)
    except NetworkError:
        raise _cannot_open(uri) from None


def stream_target(uri: str, policy: FetchPolicy | None = None, timeout: float = 10.0) -> str:
    """What ffmpeg may open for stream ``uri``: for http(s), the URL its redirects end at, every hop's
    host checked (``follow_redirects``); pinned to the checked address where TLS allows. Open it only
    inside ``ffmpeg_capture_options(**GUARDED_OPEN)`` so ffmpeg follows no hop we did not check; an https
    target keeps its name and must also go through a ``ConnectProxy`` pinned to the address (``open_stream``).
    rtsp(s) is not opened on this URL but through a relay (``open_stream``): ffmpeg follows rtsp redirects."""
    final, address = _final_target(uri, policy, timeout)
    return pin_url(final, address) if urlparse(final).scheme.lower() in PINNABLE_SCHEMES else final


# Demuxers a stream may use. Playlist ones (hls, dash, concat...) are left out: ffmpeg would fetch the
# segments they list from any address, unchecked. Names as ffmpeg's format_whitelist matches them.
STREAM_FORMATS = "mpjpeg,mjpeg,jpeg_pipe,avi,mov,matroska,flv,live_flv,mpegts,h264,hevc,mpeg,mpegvideo,m4v,asf,ogg,rtsp"
FFMPEG_OPTIONS_ENV = "OPENCV_FFMPEG_CAPTURE_OPTIONS"  # "key;value|key;value", read by OpenCV at each open
GUARDED_OPEN = {"max_redirects": "0", "format_whitelist": STREAM_FORMATS}
# rtsp through the relay: RTP interleaved on the one relayed TCP connection, no UDP/RTP sockets at all.
RELAYED_SCHEMES = {"rtsp", "rtsps"}
RTSP_OPEN = {**GUARDED_OPEN, "rtsp_transport": "tcp", "protocol_whitelist": "tcp"}
_ffmpeg_env_lock = threading.Lock()


@contextmanager
def ffmpeg_capture_options(**options: str) -> Iterator[None]:
    """OpenCV's ffmpeg options for the captures opened inside the block: ``options`` over the user's own
    ``$OPENCV_FFMPEG_CAPTURE_OPTIONS`` (kept), restored after. Serialised: hold it only around an open."""
    with _ffmpeg_env_lock:
        old = os.environ.get(FFMPEG_OPTIONS_ENV)
        kept = [item for item in (old or "").split("|") if item and item.split(";", 1)[0] not in options]
        os.environ[FFMPEG_OPTIONS_ENV] = "|".join(kept + [f"{k};{v}" for k, v in options.items()])
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(FFMPEG_OPTIONS_ENV, None)
            else:
                os.environ[FFMPEG_OPTIONS_ENV] = old


class RelayedCapture:
    """A cv2.VideoCapture whose connection runs through ``relay`` (an RtspRelay, or the ConnectProxy of an
    https stream); ``release()`` closes both."""

    def __init__(self, cap: cv2.VideoCapture, relay: RtspRelay | ConnectProxy):
        self.cap, self.relay = cap, relay

    def isOpened(self) -> bool:  # noqa: N802 - cv2's name
        return self.cap.isOpened()

    def read(self) -> tuple[bool, np.ndarray | None]:
        return self.cap.read()

    def get(self, prop: int) -> float:
        return self.cap.get(prop)

    def release(self) -> None:
        self.cap.release()
        self.relay.close()


def open_stream(
    uri: str, params: list[int], policy: FetchPolicy | None = None, timeout: float = 10.0
) -> cv2.VideoCapture | RelayedCapture:
    """An opened capture of stream ``uri`` (checked now: call again on every reconnect), or LiveSourceError.

    rtsp(s): ffmpeg opens ``rtsp://127.0.0.1:<relay>/path`` (TCP only) and the relay connects to the
    checked address alone, refusing any redirect (core/rtsp_relay.py). https (after its redirects): ffmpeg
    keeps the name for TLS but tunnels through a ``ConnectProxy`` pinned to the checked address, so a name
    that rebinds after the check reaches nothing new. Others (plain http included): the URL pinned to the
    checked address, inside ``GUARDED_OPEN``. ``params``: cv2 open parameters (timeouts)."""
    policy = policy or FetchPolicy.from_settings()
    if urlparse(uri).scheme.lower() in RELAYED_SCHEMES:
        parts = urlparse(uri)
        ip = _checked_ip(uri, policy)
        tls_name = parts.hostname if parts.scheme.lower() == "rtsps" else None
        try:
            relay: RtspRelay | ConnectProxy = RtspRelay(
                ip, parts.port or DEFAULT_PORTS[parts.scheme.lower()], timeout, tls_name
            )
        except OSError:  # no loopback port to listen on
            raise _cannot_open(uri) from None
        target, options = relay.url(uri), RTSP_OPEN
    else:
        final, address = _final_target(uri, policy, timeout)
        parts = urlparse(final)
        if parts.scheme.lower() != "https":
            target = pin_url(final, address) if parts.scheme.lower() in PINNABLE_SCHEMES else final
            with ffmpeg_capture_options(**GUARDED_OPEN):  # ffmpeg must not follow a hop we did not check
                cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
            return _opened(cap, uri)
        if _ffmpeg_skips_proxy(parts.hostname or ""):
            raise _cannot_open(uri)
        try:
            relay = ConnectProxy(policy, {(parts.hostname or "", parts.port or 443): address}, timeout)
        except OSError:
            raise _cannot_open(uri) from None
        target, options = final, {**GUARDED_OPEN, "http_proxy": relay.url}
    try:
        with ffmpeg_capture_options(**options):
            cap = RelayedCapture(cv2.VideoCapture(target, cv2.CAP_FFMPEG, params), relay)
    except BaseException:
        relay.close()
        raise
    return _opened(cap, uri)


def _ffmpeg_skips_proxy(host: str) -> bool:
    """True when ffmpeg would bypass its ``http_proxy`` for ``host`` and resolve the name itself: ``$no_proxy``
    lists ``*``, the host or a domain of it (ffmpeg's ff_http_match_no_proxy; NO_PROXY too, to be safe)."""
    for value in (os.environ.get("no_proxy"), os.environ.get("NO_PROXY")):
        for pattern in re.split(r"[ ,]+", value.lower()) if value is not None else []:
            if pattern == "*":
                return True
            pattern = pattern.removeprefix("*").removeprefix(".")  # "" (a trailing comma) matches "host."
            if host == pattern or host.endswith("." + pattern):
                return True
    return False


def _opened(cap: cv2.VideoCapture | RelayedCapture, uri: str) -> cv2.VideoCapture | RelayedCapture:
    if not cap.isOpened():
        cap.release()
        raise _cannot_open(uri)
    return cap


@dataclass
class ReconnectBackoff:
    """Seconds to wait before the next connection to a stream: ``base * 2**(n-1)`` after the n-th bad
    attempt in a row, capped at ``cap``. An attempt is bad when it cannot open, or opens but plays less
    than ``healthy_s`` seconds (a camera that answers without frames). With the defaults a dead camera
    sees attempts at 0, 2, 6, 14, 30, 62 s, then one a minute."""

    base: float = 2.0
    cap: float = 60.0
    healthy_s: float = 10.0
    failures: int = 0

    def failed(self) -> float:
        self.failures += 1
        return min(self.cap, self.base * 2.0 ** (self.failures - 1))

    def session_ended(self, frames: int, seconds: float) -> float:
        """After a connection that opened: no wait when it played long enough, else the next delay."""
        if frames > 0 and seconds >= self.healthy_s:
            self.failures = 0
            return 0.0
        return self.failed()


# A server source's states in words: "running" once frames arrive (state "playing").
SOURCE_STATE_WORDS = {
    "idle": "starting",
    "connecting": "connecting",
    "playing": "running",
    "reconnecting": "reconnecting",
    "ended": "ended",
    "failed": "failed",
}


class ServerSource:
    """Plays a stream URL or a local file through a LiveProcessor at real time, in its own thread.

    Files (and http links to files) are paced by their timestamps so a 25 fps file takes its real
    duration; ``loop`` restarts a file at its end. A live stream that drops is reopened with backoff.
    ``latest()`` is the newest annotated frame for the page to show.
    """

    # Running server sources by id: process-wide on purpose (monitoring continues when the tab that
    # started it is closed); each records its owner, and only the owner or an admin sees and stops it.
    _active: dict[str, ServerSource] = {}
    _active_lock = threading.Lock()

    def __init__(
        self,
        uri: str,
        processor: LiveProcessor,
        loop: bool = True,
        max_side: int = 640,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[float], object] | None = None,
        owner: str = "",
    ):
        """``clock`` (s) and ``pause(seconds)`` pace a file; tests pass a fake pair (default: monotonic
        time and a wait that stop() interrupts). ``owner``: the signed-in address ("" without login)."""
        self.id = f"{int(time.time() * 1000):x}-{uuid.uuid4().hex[:6]}"
        self.started_at = time.time()
        self.owner = owner
        self.uri = check_live_uri(uri)
        self.processor, self.loop, self.max_side = processor, loop, max_side
        self.is_file = Path(self.uri).is_file()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._latest: tuple[np.ndarray, _View] | None = None  # newest annotated frame and the view drawn on it
        self.error: str | None = None
        self.state = "idle"  # idle | connecting | playing | reconnecting | ended | failed
        self._clock, self._pause = clock, pause or self._stop.wait

    def start(self, quota: AccessSettings | None = None) -> ServerSource:
        """Start playing. With ``quota``, raises LimitError (nothing started) when the owner or the
        server already runs as many sources as allowed."""
        with ServerSource._active_lock:
            if self._thread is None or not self._thread.is_alive():
                if quota is not None:
                    others = [s.owner for s in ServerSource._active.values() if s is not self and s.running]
                    check_source_quota(others, self.owner, quota)
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="vigil-server-source", daemon=True)
                self._thread.start()
                ServerSource._active[self.id] = self
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.processor.stop()
        with ServerSource._active_lock:
            ServerSource._active.pop(self.id, None)

    def stop_by(self, actor: Identity, timeout: float = 5.0) -> None:
        """``stop`` on behalf of ``actor``: raises PermissionDeniedError unless they own it or are admin."""
        actor.require_manage(self.owner, "stop this source")
        self.stop(timeout)

    @classmethod
    def active(cls) -> list[ServerSource]:
        """Server sources started and not stopped, oldest first."""
        with cls._active_lock:
            return sorted(cls._active.values(), key=lambda s: s.started_at)

    @classmethod
    def visible_to(cls, actor: Identity) -> list[ServerSource]:
        """The running sources ``actor`` may see and stop (their own; every one for an admin), oldest first."""
        return [s for s in cls.active() if actor.may_manage(s.owner)]

    @property
    def label(self) -> str:
        """The URI without credentials, or the file's name."""
        return Path(self.uri).name if self.is_file else self._label()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest(self) -> np.ndarray | None:
        """The newest annotated frame (BGR), None before the first."""
        with self._lock:
            return None if self._latest is None else self._latest[0]

    def snapshot(self) -> LiveSnapshot:
        """The processor's snapshot with ``picture``: the newest annotated frame, and the state and score
        drawn on it (not the worker's newer ones), so the page's words and the picture agree."""
        with self._lock:
            drawn = self._latest
        return self.processor.snapshot(drawn)

    def status_words(self) -> str:
        """The source's state for a person: "running" once frames arrive, else connecting / reconnecting / ..."""
        return SOURCE_STATE_WORDS.get(self.state, self.state)

    def _open(self) -> cv2.VideoCapture | RelayedCapture:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 10000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 10000]
        if not self.is_file:
            return open_stream(self.uri, params)  # checked on every (re)connect; redirects hop by hop or refused
        cap = cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise LiveSourceError(self._not_a_video())
        return cap

    def _not_a_video(self, detail: str = "") -> str:
        """Analyze's and Archive's words for a server file that is no video (the same file reads the same)."""
        return f"'{self.label}' is not a video this app can read{detail}. {NOT_A_VIDEO_NEXT}"

    def _label(self) -> str:
        return strip_credentials(self.uri)  # never show credentials embedded in rtsp://user:pass@host/...

    def frames(self) -> Iterator[np.ndarray]:
        """Frames paced to real time; reopens a dropped or silent stream with capped backoff
        (``ReconnectBackoff``), loops a file. Ends on stop()."""
        backoff = ReconnectBackoff()
        while not self._stop.is_set():
            self.state = "connecting" if backoff.failures == 0 else "reconnecting"
            try:
                cap = self._open()
            except LiveSourceError as err:
                self.error = str(err)
                if self.is_file:
                    self.state = "failed"
                    return
                self.state = "reconnecting"
                self._stop.wait(backoff.failed())
                continue
            opened = self._clock()
            n = yield from self._play(cap)
            if self.is_file and (n == 0 or not self.loop):
                self.state, self.error = ("ended", None) if n else ("failed", self._not_a_video(" (no frame decodes)"))
                return
            if not self.is_file:
                self.state, self.error = "reconnecting", f"The stream {self._label()} stopped; reconnecting."
                self._stop.wait(backoff.session_ended(n, self._clock() - opened))

    def _play(self, cap: cv2.VideoCapture | RelayedCapture) -> Generator[np.ndarray, None, int]:
        """Yield one connection's frames at real time; returns how many there were."""
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        fps = fps if 1.0 <= fps <= 240.0 else 25.0
        start, n = self._clock(), 0
        try:
            while not self._stop.is_set():
                ok, frame = cap.read()
                if not ok:
                    break
                n += 1
                if n == 1:  # "playing" once a frame arrived: an opened stream may still send nothing
                    self.state, self.error = "playing", None
                pos = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                due = start + (pos if pos > 0 else n / fps)
                wait = due - self._clock()
                if wait > 0:
                    self._pause(wait)
                yield _fit(frame, self.max_side)
        finally:
            cap.release()
        return n

    def _run(self) -> None:
        for frame in self.frames():
            drawn = self.processor._process(frame)
            with self._lock:
                self._latest = drawn


def _fit(frame: np.ndarray, max_side: int) -> np.ndarray:
    h, w = frame.shape[:2]
    if max(h, w) <= max_side:
        return frame
    s = max_side / max(h, w)
    return cv2.resize(frame, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
