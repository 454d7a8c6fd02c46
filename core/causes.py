"""A segment's cause from its frames' causes: the cause that carried most of the score above the line.

Each frame inside the segment whose score is at least ``threshold`` votes for its cause with its score;
the cause with the largest total wins (ties: the cause of the segment's peak frame). A segment whose
frames carry no cause gets "".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.events import Segment


def segment_cause(t: np.ndarray, score: np.ndarray, causes: Sequence[str], seg: Segment, threshold: float = 0.5) -> str:
    """t, score: (N,) s and 0..1 of the whole track; causes: (N,) per-frame cause ("" = none)."""
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
    tied = [c for c, v in votes.items() if v >= best - 1e-12]
    if len(tied) == 1:
        return tied[0]
    peak = int(inside[np.argmax(score[inside])])
    return causes[peak] if causes[peak] in tied else sorted(tied)[0]


def segment_causes(
    t: np.ndarray, score: np.ndarray, causes: Sequence[str], segments: Sequence[Segment], threshold: float = 0.5
) -> list[str]:
    return [segment_cause(t, score, causes, s, threshold) for s in segments]
