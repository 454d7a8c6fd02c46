"""Score track -> anomalous segments.

One stateful object, ``SegmentTracker``, driven by explicit timestamps, cuts segments with hysteresis,
a minimum duration and a merge gap. The offline chart (``segments_from_track``) feeds it the centred
mean with ``EventConfig``'s minimum duration and merge gap; the live rule and its backtest
(core/alerts.py) feed the same tracker a trailing mean with neither, so both share the on/off
thresholds, but a live episode can start later (causal smoothing) or be shorter than any segment.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from core.config import EventConfig


@dataclass(frozen=True)
class Segment:
    """An anomalous interval. Times in seconds from the start of the video; peak in 0..1; ``cause``: why, in a
    few words (``core.scorers.base.CAUSES``; "" when the model does not say)."""

    start: float
    end: float
    peak: float
    peak_t: float
    cause: str = ""

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError(f"segment ends before it starts: {self.start} > {self.end}")

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Moment:
    """One of the worst moments: time (s), native frame index and score (0..1)."""

    t: float
    frame: int
    score: float


@dataclass
class ScoreTrack:
    """Per-frame scores of one video.

    frame: (N,) int native frame indices; t: (N,) float seconds, increasing;
    score: (N,) float in 0..1; smoothed: (N,) float in 0..1 (centred moving average of score);
    causes: (N,) str, why each frame scored (the model's ``Evidence.cause``; "" = none), or empty when the
    model gives no causes.
    """

    frame: np.ndarray
    t: np.ndarray
    score: np.ndarray
    smoothed: np.ndarray = field(default=None)  # type: ignore[assignment]
    causes: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.frame = np.asarray(self.frame, dtype=np.int64).reshape(-1)
        self.t = np.asarray(self.t, dtype=np.float64).reshape(-1)
        self.score = np.asarray(self.score, dtype=np.float64).reshape(-1)
        if not (len(self.frame) == len(self.t) == len(self.score)):
            raise ValueError("frame, t and score must have the same length")
        if len(self.t) > 1 and np.any(np.diff(self.t) < 0):
            raise ValueError("timestamps must not decrease")
        if self.smoothed is None:
            self.smoothed = self.score.copy()
        self.smoothed = np.asarray(self.smoothed, dtype=np.float64).reshape(-1)
        if len(self.smoothed) != len(self.score):
            raise ValueError("smoothed must have the same length as score")
        self.causes = [str(c or "") for c in self.causes]
        if self.causes and len(self.causes) != len(self.score):
            raise ValueError("causes must be empty or have one entry per score")

    @classmethod
    def empty(cls) -> ScoreTrack:
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))

    @classmethod
    def from_scores(cls, frame, t, score, smooth_seconds: float = 1.0, causes=()) -> ScoreTrack:
        score = np.clip(np.nan_to_num(np.asarray(score, dtype=np.float64), nan=0.0), 0.0, 1.0)
        return cls(frame, t, score, smooth(score, np.asarray(t, dtype=np.float64), smooth_seconds), list(causes))

    def cause_at(self, i: int) -> str:
        """The cause of sample ``i`` ("" when the model gives none)."""
        return self.causes[i] if self.causes else ""

    def __len__(self) -> int:
        return len(self.t)

    def index_at(self, t: float) -> int:
        """Index of the sample nearest to ``t`` (s). Raises IndexError on an empty track."""
        if len(self.t) == 0:
            raise IndexError("an empty score track has no samples")
        return int(np.argmin(np.abs(self.t - t)))

    def frame_at(self, t: float) -> int:
        """Native frame index of the sample nearest to ``t`` (s)."""
        return int(self.frame[self.index_at(t)])

    def moment_at(self, t: float) -> Moment:
        """The sample nearest to ``t`` (s) as a Moment (its own time, frame and raw score)."""
        i = self.index_at(t)
        return Moment(float(self.t[i]), int(self.frame[i]), float(self.score[i]))

    @property
    def duration(self) -> float:
        if len(self.t) < 2:
            return 0.0
        return float(self.t[-1] - self.t[0] + self.step)

    @property
    def step(self) -> float:
        """Median time between samples (s); 0 for fewer than 2 samples."""
        return float(np.median(np.diff(self.t))) if len(self.t) > 1 else 0.0


def held_sample(sample_frames: np.ndarray, n_frames: int) -> np.ndarray:
    """For each native frame 0..n_frames-1, the index of the last sample at or before it (the first
    sample for frames before it). ``sample_frames``: (N,) increasing native frame indices, N >= 1."""
    idx = np.searchsorted(np.asarray(sample_frames), np.arange(n_frames), side="right") - 1
    return np.clip(idx, 0, len(sample_frames) - 1)


def smooth(score: np.ndarray, t: np.ndarray, seconds: float) -> np.ndarray:
    """Centred moving average over ``seconds`` (shape (N,) -> (N,)); edges average what exists."""
    score = np.asarray(score, dtype=np.float64)
    if len(score) < 2 or seconds <= 0:
        return score.copy()
    step = float(np.median(np.diff(t))) or 1.0
    # np.convolve(mode="same") returns max(len(score), width) values: cap the window at the track
    width = min(int(round(seconds / step)), len(score))
    if width <= 1:
        return score.copy()
    kernel = np.ones(width)
    total = np.convolve(score, kernel, mode="same")
    count = np.convolve(np.ones_like(score), kernel, mode="same")
    return total / count


class TrailingMean:
    """Causal moving average over the last ``seconds`` (what a live stream can compute)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._buf: deque[tuple[float, float]] = deque()
        self._sum = 0.0

    def update(self, t: float, value: float) -> float:
        self._buf.append((t, value))
        self._sum += value
        while self._buf and self._buf[0][0] <= t - self.seconds:
            self._sum -= self._buf.popleft()[1]
        return self._sum / len(self._buf)


class SegmentTracker:
    """Hysteresis segmenter driven by explicit timestamps.

    A segment opens when ``value > on`` and closes at the first sample with ``value < off``. A closed
    segment is held back for ``merge_gap`` seconds: if another opens in that time they are merged.
    Segments shorter than ``min_duration`` are dropped when they are finally emitted.
    ``update`` returns the segments that became final at that timestamp; ``flush`` ends the stream.
    """

    def __init__(self, on: float, off: float, min_duration: float = 0.0, merge_gap: float = 0.0):
        if off > on:
            raise ValueError("off threshold must not exceed on threshold")
        self.on, self.off = on, off
        self.min_duration, self.merge_gap = min_duration, merge_gap
        self._start: float | None = None  # open segment
        self._peak, self._peak_t = -1.0, 0.0
        # the first run of equal maximum samples: their times, and whether it still goes on
        self._run_times: list[float] = []
        self._run_open = False
        self._pending: Segment | None = None  # closed, waiting for the merge gap to pass
        self._last_t: float | None = None

    @classmethod
    def from_config(cls, cfg: EventConfig) -> SegmentTracker:
        return cls(cfg.threshold, cfg.off_threshold, cfg.min_duration, cfg.merge_gap)

    @property
    def active(self) -> bool:
        return self._start is not None

    def active_for(self, t: float) -> float:
        """Seconds the current segment has been open at time ``t`` (0 when none is open)."""
        return 0.0 if self._start is None else max(0.0, t - self._start)

    def update(self, t: float, value: float, raw: float | None = None) -> list[Segment]:
        """Feed one sample. ``value`` drives the thresholds; ``raw`` (default value) sets the peak.

        The peak time is the middle sample of the first run of samples that hold the maximum (a single sample: its
        time; an even run: the earlier of its two middle samples, as ``plateau_middle``), so a flat score, e.g. one
        window's score spread over a clip shorter than the window, peaks mid-plateau at a sample's own time (a
        frame that the video's peak, the worst moments and playback can show).
        """
        peak_value = value if raw is None else raw
        out: list[Segment] = []
        self._last_t = t
        if self._pending is not None and self._start is None and t - self._pending.end > self.merge_gap:
            out += self._emit(self._pending)
            self._pending = None
        if self._start is None:
            if value > self.on:
                if self._pending is not None:  # re-opened within the gap: continue the pending one
                    self._start, self._peak, self._peak_t = (
                        self._pending.start,
                        self._pending.peak,
                        self._pending.peak_t,
                    )
                    self._pending = None
                    self._run_open = False  # the gap ended the pending segment's run of its maximum
                else:
                    self._start, self._peak, self._peak_t = t, -1.0, t
        if self._start is not None:
            self._track_peak(t, peak_value)
            if value < self.off:
                self._pending = Segment(self._start, t, float(self._peak), float(self._peak_t))
                self._start = None
                if self.merge_gap <= 0:
                    out += self._emit(self._pending)
                    self._pending = None
        return out

    def _track_peak(self, t: float, v: float) -> None:
        if v > self._peak:
            self._peak, self._run_times, self._run_open = v, [t], True
        elif v == self._peak and self._run_open:
            self._run_times.append(t)
        else:
            self._run_open = False  # a later run of the same maximum does not move the peak
            return
        self._peak_t = self._run_times[(len(self._run_times) - 1) // 2]

    def flush(self, t_end: float | None = None) -> list[Segment]:
        """End of stream: emit what is open or pending. ``t_end`` closes an open segment."""
        out: list[Segment] = []
        if self._start is not None:
            end = t_end if t_end is not None else (self._last_t if self._last_t is not None else self._start)
            seg = Segment(self._start, max(end, self._start), float(self._peak), float(self._peak_t))
            self._start = None
            if self._pending is not None:
                seg = Segment(self._pending.start, seg.end, max(seg.peak, self._pending.peak), seg.peak_t)
                self._pending = None
            out += self._emit(seg)
        if self._pending is not None:
            out += self._emit(self._pending)
            self._pending = None
        return out

    def _emit(self, seg: Segment) -> list[Segment]:
        return [seg] if seg.duration >= self.min_duration else []


def segments_from_track(track: ScoreTrack, cfg: EventConfig) -> list[Segment]:
    """Cut the smoothed score of ``track`` into segments; peaks are taken on the raw score; each segment
    carries the cause of its frames (``segment_cause``)."""
    if len(track) == 0:
        return []
    tracker = SegmentTracker.from_config(cfg)
    out: list[Segment] = []
    for t, v, r in zip(track.t, track.smoothed, track.score, strict=True):
        out += tracker.update(float(t), float(v), float(r))
    out += tracker.flush(float(track.t[-1]) + track.step)
    if track.causes:
        out = [replace(s, cause=segment_cause(track.t, track.score, track.causes, s, cfg.threshold)) for s in out]
    return out


def segment_cause(t: np.ndarray, score: np.ndarray, causes, seg: Segment, threshold: float = 0.5) -> str:
    """A segment's cause: the cause that carried most of its score above the line.

    Each frame inside the segment whose raw score is at least ``threshold`` (all its frames when none is)
    votes for its cause with its score; the largest total wins (ties: the peak frame's cause, else the
    first alphabetically). ``t``, ``score``: (N,) s and 0..1 of the whole track; ``causes``: (N,) str.
    """
    t = np.asarray(t, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    inside = np.flatnonzero((t >= seg.start - 1e-9) & (t <= seg.end + 1e-9))
    if not len(inside):
        return ""
    votes: dict[str, float] = {}
    strong = [i for i in inside if score[i] >= threshold] or list(inside)
    for i in strong:
        if causes[i]:
            votes[causes[i]] = votes.get(causes[i], 0.0) + float(score[i])
    if not votes:
        return ""
    best = max(votes.values())
    tied = sorted(c for c, v in votes.items() if v >= best - 1e-12)
    peak = int(inside[np.argmax(score[inside])])
    return causes[peak] if causes[peak] in tied else tied[0]


def plateau_middle(score: np.ndarray, i: int) -> int:
    """The middle index of the run of samples equal to ``score[i]`` that holds ``i`` (``i`` itself when alone).

    A flat score (one window's score spread over a clip shorter than the window) then points at the middle of the
    plateau, as segment peaks do, not at its first frame."""
    lo = hi = i
    while lo > 0 and score[lo - 1] == score[i]:
        lo -= 1
    while hi < len(score) - 1 and score[hi + 1] == score[i]:
        hi += 1
    return (lo + hi) // 2


def top_moments(track: ScoreTrack, k: int, min_separation: float) -> list[Moment]:
    """The ``k`` highest-score samples, at least ``min_separation`` s apart, worst first.

    Ranked on the raw score, like segment peaks, so a moment's score is what its caption shows; a run of equal
    samples is one moment, at its middle (``plateau_middle``).
    """
    if len(track) == 0 or k <= 0:
        return []
    order = np.argsort(-track.score, kind="stable")
    chosen: list[int] = []
    for first in order:
        i = plateau_middle(track.score, int(first))
        if i not in chosen and all(abs(track.t[i] - track.t[j]) >= min_separation for j in chosen):
            chosen.append(i)
            if len(chosen) == k:
                break
    return [Moment(float(track.t[i]), int(track.frame[i]), float(track.score[i])) for i in chosen]


def fraction_anomalous(track: ScoreTrack, segments: list[Segment]) -> float:
    """Share of the video's duration covered by segments (0..1)."""
    if track.duration <= 0:
        return 0.0
    return min(1.0, sum(s.duration for s in segments) / track.duration)
