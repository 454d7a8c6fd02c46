"""The cues the default model fuses. A cue is any ``Scorer`` plus the cause it stands for and the rate it
wants frames at; the default model restarts its stream at every scene cut (a new shot, a new baseline).

``MotionCue`` is the weight-free motion cue: the self-referenced motion statistics of ``core.families.motion.scorer``
(activity = mean flow speed, fastest = highest cell peak speed, robust z against the shot's own median and
MAD, 0.5 = six robust standard deviations), with evidence: the fastest cell is boxed, and the cause says
whether one region moved fast ("fast object") or the whole scene did ("unusual motion").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from core.families.motion.features import MotionFeaturizer
from core.families.motion.scorer import LIVE_WARMUP_S, LIVE_WINDOW_S, REF_Z, frame_stats, robust_z
from core.scorers.base import Evidence, ModelInfo, Scorer, ScoringStream, calibrate


@dataclass(frozen=True)
class Cue:
    """One cue of the default model. ``fps``: the rate its stream wants frames at (None = every frame).

    ``cause`` is the default cause of its moments (a stream's own ``Evidence.cause`` wins when set).
    ``own_thread``: its stream runs on a thread of its own, beside the other cues (worth it for a cue whose
    work releases the GIL, e.g. a TFLite invoke); the scores are the same either way.
    """

    name: str
    scorer: Scorer
    cause: str
    fps: float | None = None
    own_thread: bool = False


class MotionCueStream(ScoringStream):
    """Self-referenced motion over one shot, with the fastest cell as evidence."""

    def __init__(self, live: bool, grid: tuple[int, int, int]):
        super().__init__(live)
        self.featurizer = MotionFeaturizer(*grid)
        self.rows, self.cols = grid[0], grid[1]
        self.stats: list[np.ndarray] = []
        self.cells: list[tuple[int, int]] = []  # (row, col) of the fastest cell per frame
        self.shape: tuple[int, int] = (0, 0)
        self.window: deque[tuple[float, np.ndarray]] = deque()
        self.z: list[np.ndarray] = []  # live: per-frame (activity z, fastest z)

    def update(self, t: float, frame: np.ndarray) -> float | None:
        self.shape = frame.shape[:2]
        cells = self.featurizer.update(t, frame)
        stats = frame_stats(cells)
        r, c = np.unravel_index(int(np.argmax(cells[..., 1])), cells.shape[:2])
        self.cells.append((int(r), int(c)))
        first = not self.stats
        self.stats.append(stats)
        if not self.live:
            return None
        z = np.zeros(2)
        if not first and self.window and t - self.window[0][0] >= LIVE_WARMUP_S:
            z = robust_z(stats[None], np.array([s for _, s in self.window]))[0]
        self.z.append(np.maximum(z, 0.0))
        if not first:
            self.window.append((t, stats))
        while self.window and self.window[0][0] < t - LIVE_WINDOW_S:
            self.window.popleft()
        return float(calibrate(max(0.0, float(z.max())), REF_Z))

    def _offline_z(self) -> np.ndarray:
        stats = np.array(self.stats)
        base = stats[1:] if len(stats) > 2 else stats  # frame 0 of a shot has no flow
        z = np.maximum(robust_z(stats, base), 0.0)
        z[0] = 0.0
        return z

    def finish(self) -> np.ndarray:
        if not self.stats:
            return np.zeros(0)
        self.z = list(self._offline_z())
        return calibrate(np.array([z.max() for z in self.z]), REF_Z)

    def evidence(self, index: int) -> Evidence:
        if not self.z or not self.cells:
            return Evidence.empty()
        z = self.z[index]
        if z.max() <= 0:
            return Evidence.empty()
        if z[1] < z[0]:
            return Evidence(cause="unusual motion")
        r, c = self.cells[index]
        h, w = self.shape
        box = np.array([[c * w / self.cols, r * h / self.rows, (c + 1) * w / self.cols, (r + 1) * h / self.rows]])
        return Evidence(boxes=box.astype(np.float32), culprit=0, cause="fast object")


class MotionCue(Scorer):
    def __init__(self, rows: int = 6, cols: int = 8, work_side: int = 160):
        self.grid = (rows, cols, work_side)
        self.info = ModelInfo("motion-cue", "1", "self-referenced motion per shot", "motion")

    def stream(self, live: bool = False) -> ScoringStream:
        return MotionCueStream(live, self.grid)
