"""Sustained-anomaly rule: when to send an alert email, and when to hold back.

``SustainedRule`` is a small stateful object driven by explicit timestamps (seconds, any origin but
one clock for all sources), so the live page, the server-side source and ``backtest`` share it:

1. the raw score (0..1) is smoothed causally (``TrailingMean`` over ``smooth_seconds``);
2. a ``SegmentTracker`` with hysteresis (on = ``threshold``, off = ``threshold - hysteresis``) decides
   whether the source is in an anomalous episode;
3. an episode that has lasted ``seconds`` fires ONE alert (never a second one for the same episode);
4. after an alert a source stays quiet for ``cooldown`` seconds; an episode still going when the
   cooldown ends fires then;
5. at most ``cap_per_hour`` alerts go out per hour window (all sources together; a window starts at
   the first alert and lasts ``CAP_WINDOW_S``); further alerts in that window are suppressed and, when
   the window ends, ONE digest summarises them. ``seed_cap`` counts alerts sent before the rule existed
   (a restarted source), so the cap holds over a real hour.

Flapping around the threshold is absorbed three times over: by the smoothing, by the hysteresis band
and by the cooldown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from core.events import ScoreTrack, SegmentTracker, TrailingMean
from core.settings import AlertConfig  # the rule's settings live in the settings root (VIGIL_ALERT_*)

__all__ = ["AlertConfig", "Alert", "Suppressed", "RuleState", "RuleStatus", "SustainedRule", "backtest"]

CAP_WINDOW_S = 3600.0
DEFAULT_SOURCE = "camera"


@dataclass(frozen=True)
class Suppressed:
    """An alert the hourly cap held back: when it would have fired (s), its start (s) and peak (0..1)."""

    t: float
    start: float
    peak: float
    source: str


@dataclass(frozen=True)
class Alert:
    """What the rule decided to send.

    ``kind == "alert"``: one sustained episode. ``t`` is when it fired, ``start`` when the episode
    began, ``duration = t - start`` (s), ``peak``/``peak_t`` the highest raw score so far (0..1, s).
    ``kind == "digest"``: sent when a capped hour window ends; ``suppressed`` lists what was held back,
    ``start`` is the window's start, ``peak`` the highest suppressed peak.
    ``cause``: why the peak moment was unusual (``Evidence.cause`` of the peak; "" when the model says not).
    """

    kind: Literal["alert", "digest"]
    source: str
    t: float
    start: float
    peak: float
    peak_t: float
    suppressed: tuple[Suppressed, ...] = ()
    cause: str = ""

    @property
    def duration(self) -> float:
        return self.t - self.start


class RuleState(StrEnum):
    NORMAL = "normal"
    ANOMALOUS = "anomalous"  # in an episode, not (yet) alerted
    # the rule raises an alert; whether its email went out is the outbox's to say (a page adds that)
    ALERTED = "alert raised"  # in an episode that already fired
    SUPPRESSED = "suppressed"  # in an episode that fired while capped (goes into the digest)
    COOLDOWN = "cooldown"  # within cooldown of the last alert; an episode fires only once it ends


@dataclass(frozen=True)
class RuleStatus:
    """The rule's state for one source at time ``t``, for a UI to put in words."""

    state: RuleState
    smoothed: float  # last smoothed score (0..1)
    anomalous_for: float  # seconds in the current episode (0 when none)
    cooldown_left: float  # seconds until a new alert may fire (0 when none)
    capped: bool  # the hourly cap is reached: new alerts go to the digest

    def words(self, email: str = "") -> str:
        """The state in a few words; a duration only once it reads as one (a whole second or more).

        ``email``: what became of a raised alert's email ("email sent", "email not configured"...), said
        after "alert raised"; the rule itself only knows that it raised one."""
        if self.state == RuleState.NORMAL:
            return "normal"
        if self.state == RuleState.ANOMALOUS:
            return f"anomalous{_lasting(self.anomalous_for)}"
        if self.state == RuleState.ALERTED:
            fate = f", {email}" if email else ""
            return f"alert raised{fate} — anomalous{_lasting(self.anomalous_for)}"
        if self.state == RuleState.SUPPRESSED:
            return f"anomalous{_lasting(self.anomalous_for)} — hourly cap reached, goes into the digest"
        extra = f", anomalous{_lasting(self.anomalous_for)}" if self.anomalous_for > 0 else ""
        return f"cooldown ({self.cooldown_left:.0f}s left{extra})"


def _lasting(seconds: float) -> str:
    # "anomalous for 0s" reads as a contradiction: an episode younger than a second has no duration yet
    return f" for {seconds:.0f}s" if seconds >= 1.0 else ""


class _Unsmoothed:
    """``smooth_seconds == 0``: the score itself. (A 1e-9 s window vanishes at epoch times: t - 1e-9 == t.)"""

    def update(self, t: float, value: float) -> float:
        return value


@dataclass(frozen=True)
class EpisodeEnd:
    """An alerted episode of ``source`` ended at ``t`` (s); ``fired_t`` identifies its alert (``Alert.t``)."""

    source: str
    fired_t: float
    t: float


@dataclass
class _SourceState:
    tracker: SegmentTracker
    smoother: TrailingMean | _Unsmoothed
    smoothed: float = 0.0
    episode_start: float | None = None
    peak: float = -1.0
    peak_t: float = 0.0
    peak_cause: str = ""
    fired: Literal["", "alert", "suppressed"] = ""  # what this episode already did
    last_alert_t: float | None = None
    fired_t: float | None = None  # when this episode's alert fired
    last_t: float | None = None  # the last sample's time


@dataclass
class _CapWindow:
    start: float
    sent: int = 0
    suppressed: list[Suppressed] = field(default_factory=list)


class SustainedRule:
    """Sustained-anomaly rule over one or more sources. Not thread-safe: feed it from one thread.

    ``update(t, score, source)`` returns the alerts/digests to send at ``t`` (usually none).
    Timestamps must not decrease per source; all sources must share one clock (the cap is global).
    """

    def __init__(self, cfg: AlertConfig | None = None, cap_window: float = CAP_WINDOW_S):
        self.cfg = cfg or AlertConfig()
        self.cap_window = cap_window
        self._sources: dict[str, _SourceState] = {}
        self._window: _CapWindow | None = None
        self._ended: list[EpisodeEnd] = []
        self._seeded = False  # see seed_cap

    def _source(self, name: str) -> _SourceState:
        st = self._sources.get(name)
        if st is None:
            st = _SourceState(
                SegmentTracker(self.cfg.threshold, self.cfg.off_threshold),
                TrailingMean(self.cfg.smooth_seconds) if self.cfg.smooth_seconds > 0 else _Unsmoothed(),
            )
            self._sources[name] = st
        return st

    def reconfigure(self, cfg: AlertConfig) -> None:
        """New settings; cooldowns and the cap window survive. N seconds, cooldown or cap alone change no episode
        (each sample reads them). A new threshold band keeps an open episode (its start and whether it fired: no
        second alert for it) while the smoothed score stays at or above the new off-threshold, and ends it now
        otherwise. A new smoothing restarts every source: its average is of another width."""
        if cfg == self.cfg:
            return
        before, self.cfg = self.cfg, cfg
        if cfg.smooth_seconds != before.smooth_seconds:
            for name in list(self._sources):
                self._restart(name, keep_smoothing=False)
            return
        if (cfg.threshold, cfg.off_threshold) == (before.threshold, before.off_threshold):
            return
        for name, st in list(self._sources.items()):
            st.tracker.on, st.tracker.off = cfg.threshold, cfg.off_threshold
            if st.tracker.active and st.smoothed < cfg.off_threshold:  # the tracker's own closing test
                self._restart(name, keep_smoothing=True)

    def restart(self, source: str = DEFAULT_SOURCE) -> None:
        """``source`` now scores on another scale (a new model): its open episode ends (an alerted one is reported
        by ``pop_ended``, at its last sample) and its smoothing starts afresh; its cooldown and the cap survive."""
        if source in self._sources:
            self._restart(source, keep_smoothing=False)

    def _restart(self, name: str, keep_smoothing: bool) -> None:
        st = self._sources.pop(name)
        new = self._source(name)
        new.last_alert_t = st.last_alert_t
        if keep_smoothing:
            new.smoother, new.smoothed = st.smoother, st.smoothed
        if st.fired == "alert" and st.fired_t is not None and st.last_t is not None:
            self._ended.append(EpisodeEnd(name, st.fired_t, st.last_t))  # the restart ends it

    def seed_cap(self, fired: list[float], now: float) -> None:
        """Count alerts sent before this rule existed (epoch s, e.g. by the same camera before a restart) against the
        hourly cap: those within the last ``cap_window`` before ``now`` open the window at the first of them, so a
        stopped and restarted source cannot send a fresh hour's worth (walk 4: 18 emails in 31 min under 10/hour).
        Only the first call counts: later ones (a worker started again) would count the rule's own alerts twice."""
        if self._seeded:
            return
        self._seeded = True
        recent = sorted(t for t in fired if now - self.cap_window < t <= now)
        if self._window is None and recent:
            self._window = _CapWindow(start=recent[0], sent=len(recent))

    def update(self, t: float, score: float, source: str = DEFAULT_SOURCE, cause: str = "") -> list[Alert]:
        """Feed one raw score (0..1; NaN counts as 0) of ``source`` at time ``t`` (s) and its cause."""
        out = self._close_window(t)
        score = 0.0 if score is None or math.isnan(score) else min(1.0, max(0.0, float(score)))
        st = self._source(source)
        st.last_t = t
        st.smoothed = st.smoother.update(t, score)
        was_active = st.tracker.active
        st.tracker.update(t, st.smoothed, score)  # segments are not needed: we read the open state
        if st.tracker.active and not was_active:
            st.episode_start, st.peak, st.peak_t, st.fired, st.peak_cause = t, -1.0, t, "", ""
        if not st.tracker.active:
            if st.fired == "alert" and st.fired_t is not None:
                self._ended.append(EpisodeEnd(source, st.fired_t, t))
            st.episode_start, st.fired, st.fired_t = None, "", None
            return out
        if score > st.peak:
            st.peak, st.peak_t, st.peak_cause = score, t, cause
        if st.fired or st.tracker.active_for(t) < self.cfg.seconds:
            return out
        if st.last_alert_t is not None and t - st.last_alert_t < self.cfg.cooldown:
            return out  # still in cooldown: checked again next sample, fires if the episode outlasts it
        st.last_alert_t = t
        assert st.episode_start is not None
        if self._window is None:
            self._window = _CapWindow(start=t)
        if self._window.sent >= self.cfg.cap_per_hour:
            st.fired = "suppressed"
            self._window.suppressed.append(Suppressed(t, st.episode_start, st.peak, source))
            return out
        self._window.sent += 1
        st.fired, st.fired_t = "alert", t
        out.append(Alert("alert", source, t, st.episode_start, st.peak, st.peak_t, cause=st.peak_cause))
        return out

    def _close_window(self, t: float) -> list[Alert]:
        """End the cap window once its hour is over; a digest goes out if anything was suppressed."""
        w = self._window
        if w is None or t < w.start + self.cap_window:
            return []
        self._window = None
        if not w.suppressed:
            return []
        best = max(w.suppressed, key=lambda s: s.peak)
        end = w.start + self.cap_window
        return [Alert("digest", "all", end, w.start, best.peak, best.t, tuple(w.suppressed))]

    def pop_ended(self) -> list[EpisodeEnd]:
        """The alerted episodes that ended since the last call (oldest first)."""
        out, self._ended = self._ended, []
        return out

    def end_open(self, t: float, source: str = DEFAULT_SOURCE) -> None:
        """The source stopped at ``t``: an alerted episode still open ends there (``pop_ended`` reports it)."""
        st = self._sources.get(source)
        if st is not None and st.fired == "alert" and st.fired_t is not None:
            self._ended.append(EpisodeEnd(source, st.fired_t, t))
            st.fired_t = None

    def flush(self, t: float) -> list[Alert]:
        """End of a replay: the digest the open window would send when it ends (stamped at its end)."""
        w = self._window
        if w is None:
            return []
        return self._close_window(max(t, w.start + self.cap_window))

    def peak_of(self, source: str = DEFAULT_SOURCE) -> tuple[float, float] | None:
        """(peak score, its time) of the open episode of ``source``, None when none is open."""
        st = self._sources.get(source)
        if st is None or st.episode_start is None:
            return None
        return st.peak, st.peak_t

    def status(self, t: float, source: str = DEFAULT_SOURCE) -> RuleStatus:
        st = self._sources.get(source)
        capped = self._window is not None and self._window.sent >= self.cfg.cap_per_hour
        if st is None:
            return RuleStatus(RuleState.NORMAL, 0.0, 0.0, 0.0, capped)
        cooldown_left = 0.0
        if st.last_alert_t is not None:
            cooldown_left = max(0.0, self.cfg.cooldown - (t - st.last_alert_t))
        active_for = st.tracker.active_for(t)
        if st.fired == "alert":
            state = RuleState.ALERTED
        elif st.fired == "suppressed":
            state = RuleState.SUPPRESSED
        elif cooldown_left > 0:
            state = RuleState.COOLDOWN
        elif st.tracker.active:
            state = RuleState.ANOMALOUS
        else:
            state = RuleState.NORMAL
        return RuleStatus(state, st.smoothed, active_for, cooldown_left, capped)


def backtest(track: ScoreTrack, cfg: AlertConfig | None = None, source: str = "video") -> list[Alert]:
    """The alerts and digests the live rule would have sent on a stored score track.

    Replays ``track.t`` (s) and the raw ``track.score`` (0..1) through a fresh ``SustainedRule`` —
    the rule smooths causally itself, so ``track.smoothed`` (centred) is not used. A digest that
    would go out after the track ends is included, stamped at its window's end. Times are the
    track's own (seconds into the video). ``len(backtest(track, cfg))`` = emails that would be sent.
    Note: offline scores may differ from live ones (the motion model's offline baseline is the whole
    video, live it is the trailing minute), so this is an estimate of the live rule's behaviour.
    """
    rule = SustainedRule(cfg or AlertConfig())
    out: list[Alert] = []
    causes = track.causes or [""] * len(track)
    for t, s, c in zip(track.t.tolist(), track.score.tolist(), causes, strict=True):
        out += rule.update(t, s, source, c)
    if len(track):
        out += rule.flush(float(track.t[-1]))
    return out
