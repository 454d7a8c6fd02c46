"""The one small interface every anomaly scorer implements.

A ``Scorer`` is built once (weights loaded, thread-safe to keep in a cache) and hands out
``ScoringStream`` objects: per-video / per-thread state. Frames go in one at a time; scores come out
in 0..1 where 0.5 is the model's "unusual" line (each model documents its calibration).

- Offline (``live=False``): the engine calls ``update`` for every frame, then ``finish`` once, which
  may use the whole video (e.g. a self-referenced baseline) and returns one score per update.
- Live (``live=True``): ``update`` returns a causal score for that frame at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ModelInfo:
    """What a user sees of a model. ``preferred_fps`` caps the analysis fps (None = any)."""

    name: str
    version: str
    description: str
    featurizer: str
    preferred_fps: float | None = None


# Why a moment is unusual, as shown on segments, thumbnails, exports, alert emails and backtests.
CAUSES = (
    "unusual motion",
    "fast object",
    "object moving against the flow",
    "unusual object",
    "crowd dispersal",
    "fight",
    "person down",
)


@dataclass(frozen=True)
class Evidence:
    """Why a frame scored high: who drove it. Shapes: boxes (K,4) xyxy px; keypoints (K,17,3) x,y,conf.

    ``culprit`` indexes the row that drove the score (-1 when none). Empty arrays when nothing is known.
    ``cause`` says why, in a few words a user reads on a segment: one of ``CAUSES`` or "" when unknown.
    """

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 17, 3), np.float32))
    culprit: int = -1
    cause: str = ""

    def __post_init__(self):
        if self.boxes.ndim != 2 or self.boxes.shape[1] != 4:
            raise ValueError(f"boxes must be (K,4), got {self.boxes.shape}")
        if self.culprit >= len(self.boxes):
            raise ValueError("culprit index out of range")

    @classmethod
    def empty(cls) -> Evidence:
        return cls()


class ScoringStream(ABC):
    """Per-video (or per-thread) scoring state. Not thread-safe: one per thread."""

    def __init__(self, live: bool):
        self.live = live

    @abstractmethod
    def update(self, t: float, frame: np.ndarray) -> float | None:
        """Consume one BGR uint8 frame (H,W,3) at time ``t`` (s).

        Live: return the causal score (0..1). Offline: may return None (the score comes from finish).
        """

    @abstractmethod
    def finish(self) -> np.ndarray:
        """Scores (N,) in 0..1, one per ``update`` call so far, for offline analysis."""

    def evidence(self, index: int) -> Evidence:
        """Evidence for the ``index``-th update (offline) or -1 for the latest (live)."""
        return Evidence.empty()

    def parts(self) -> dict[str, np.ndarray]:
        """Offline, after ``finish``: for a model that fuses cues, {cue label: (N,) 0..1}, what each cue alone
        gives on the score's own scale (the score is their maximum); {} for a single-cue model."""
        return {}


class Scorer(ABC):
    """A loaded model. Shared across threads: must not keep per-video state (that lives in streams)."""

    info: ModelInfo
    # what this build of the model leaves out, in words a user can act on ("" : nothing); the engine stores it
    # as a warning with every analysis, so a result made without a cue says so
    limits: str = ""

    @abstractmethod
    def stream(self, live: bool = False) -> ScoringStream:
        """A fresh stream of per-video state."""


def calibrate(raw: np.ndarray | float, ref: float) -> np.ndarray:
    """Map a raw anomaly value (>= 0, higher = stranger) to 0..1 with ``raw == ref`` -> 0.5.

    ``1 - 0.5 ** (raw / ref)``: monotonic (keeps ranking and ROC AUC), 0 at 0, 0.75 at 2*ref.
    """
    raw = np.maximum(np.asarray(raw, dtype=np.float64), 0.0)
    return 1.0 - np.power(0.5, raw / max(ref, 1e-12))
