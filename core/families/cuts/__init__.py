"""Scene cuts: shot boundaries on the frames an analysis already decodes (PySceneDetect, streaming).

A cut is never an anomaly: this family scores every frame 0 and says where the cuts are (``CutDetector``);
the default model (``core.families.vigil``) uses it to restart every other cue's baseline at a cut.
"""

from __future__ import annotations

import numpy as np

from core.families.base import Family
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


FAMILIES = [
    Family(
        kind="scene-cuts",
        title="Scene cuts (shot boundaries)",
        description="Finds the cuts between shots of an edited video. A cut is never an anomaly: it scores 0.",
        build=lambda spec, resolve: CutsScorer(spec),
        builtin=(),
    )
]

__all__ = ["FAMILIES", "CutDetector", "CutsScorer", "CutsStream"]
