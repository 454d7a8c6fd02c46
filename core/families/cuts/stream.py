"""The scene-cuts family's scorer: scores 0 everywhere and keeps the cut times (a cut is never an anomaly)."""

from __future__ import annotations

import numpy as np

from core.families.cuts.detector import CutDetector
from core.scorers.base import ModelInfo, Scorer, ScoringStream


class CutsStream(ScoringStream):
    """Scores 0 everywhere; ``cuts`` lists the times (s) of the shot boundaries found so far."""

    def __init__(self, live: bool):
        super().__init__(live)
        self.detector = CutDetector()
        self.n = 0

    @property
    def cuts(self) -> list[float]:
        return self.detector.cuts

    def update(self, t: float, frame: np.ndarray) -> float | None:
        self.detector.update(t, frame)
        self.n += 1
        return 0.0 if self.live else None

    def finish(self) -> np.ndarray:
        return np.zeros(self.n)


class CutsScorer(Scorer):
    def __init__(self, spec):
        self.info = ModelInfo(spec.name, spec.version, spec.description, "cuts")

    def stream(self, live: bool = False) -> ScoringStream:
        return CutsStream(live)
