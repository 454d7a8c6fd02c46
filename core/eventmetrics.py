"""Event-level metrics: what a user sees of a model on an upload — its segments against true intervals.

- *event recall*: a true anomalous interval counts as found when any segment overlaps it;
- *false segments per 10 minutes*: segments that overlap no true interval, per 600 s of video;
- *cut starts*: segments that start within ``CUT_TOLERANCE_S`` of a scene cut that lies outside every true
  interval (a cut itself must never be an anomaly; a cut where an anomaly starts, or inside one, is not
  counted: a segment there is the anomaly's);
- frame ROC AUC over the scored frames (``core.metrics.roc_auc``), pooled over uploads.

*Ignored* intervals (optional) are "don't care" footage, e.g. clips a dataset calls normal whose content an
audit found anomalous: a segment overlapping one and no true interval is neither found nor false, a cut
where one starts is not innocent, and ``frame_mask`` leaves their frames out of frame metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.events import Segment
from core.metrics import roc_auc

CUT_TOLERANCE_S = 0.5


def _overlaps(a0: float, a1: float, b0: float, b1: float) -> bool:
    return a0 < b1 and b0 < a1


@dataclass(frozen=True)
class EventCounts:
    """Per-upload counts (summed over uploads by ``pool``). Durations in seconds."""

    events: int
    found: int
    segments: int
    false_segments: int
    cut_starts: int
    duration: float

    @property
    def recall(self) -> float:
        return self.found / self.events if self.events else float("nan")

    @property
    def false_per_10min(self) -> float:
        return 600.0 * self.false_segments / self.duration if self.duration > 0 else float("nan")


def event_counts(
    segments: Sequence[Segment],
    intervals: Sequence[tuple[float, float]],
    duration: float,
    cuts: Sequence[float] = (),
    tolerance: float = CUT_TOLERANCE_S,
    ignored: Sequence[tuple[float, float]] = (),
) -> EventCounts:
    """Count found events, false segments and cut starts of one upload (times in seconds); segments that
    overlap only ``ignored`` intervals are not false (see the module docstring)."""
    found = sum(any(_overlaps(s.start, s.end, a, b) for s in segments) for a, b in intervals)
    false = sum(not any(_overlaps(s.start, s.end, a, b) for a, b in (*intervals, *ignored)) for s in segments)
    # a cut where a true (or ignored) interval starts (a Ped2 clip anomalous from its first frame) or inside one
    # is not counted: a segment starting there belongs to that interval
    innocent_cuts = [c for c in cuts if not any(a - tolerance <= c <= b for a, b in (*intervals, *ignored))]
    cut_starts = sum(any(abs(s.start - c) <= tolerance for c in innocent_cuts) for s in segments)
    return EventCounts(len(intervals), int(found), len(segments), int(false), int(cut_starts), float(duration))


def frame_mask(t: np.ndarray, ignored: Sequence[tuple[float, float]]) -> np.ndarray:
    """(N,) times (s) -> (N,) bool: True for frames outside every ignored interval (the ones to count)."""
    t = np.asarray(t, dtype=np.float64)
    keep = np.ones(len(t), bool)
    for a, b in ignored:
        keep &= ~((t >= a) & (t < b))
    return keep


def pool(counts: Sequence[EventCounts]) -> EventCounts:
    """Sum per-upload counts into one."""
    return EventCounts(
        sum(c.events for c in counts),
        sum(c.found for c in counts),
        sum(c.segments for c in counts),
        sum(c.false_segments for c in counts),
        sum(c.cut_starts for c in counts),
        sum(c.duration for c in counts),
    )


def pooled_frame_auc(labels: Sequence[np.ndarray], scores: Sequence[np.ndarray]) -> float:
    """ROC AUC of per-frame scores pooled over uploads (NaN when one class is missing)."""
    if not labels:
        return float("nan")
    return roc_auc(np.concatenate(labels), np.concatenate(scores))
