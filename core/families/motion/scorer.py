"""Weight-free motion scorers on optical-flow cell features (see core.families.motion.features).

``motion`` (self-referenced, no training): every moment is compared with the same video's robust
baseline. Two frame-level statistics are tracked: *activity* (mean speed over all cells) and *fastest*
(the highest cell peak speed). Each becomes a robust z-score against the video's median and MAD; the
raw score is the larger z (>= 0) and ``score = 1 - 0.5 ** (z / 6)``: 0.5 means "six robust standard
deviations above this video's usual motion", 0.75 twelve. Offline the baseline is the whole video;
live it is the last 60 s (the first 3 s score 0 while the baseline warms up). It finds "something moved
unusually fast or much for this video"; a video that is abnormal from start to end looks normal to it.

``motion-fitted`` (fitted on normal footage of one scene): each cell's mean and peak speed are divided
by that cell's 99.5th percentile on the normal footage; the raw score is the largest ratio over cells
and is calibrated so that 0.5 is the 99th percentile of the normal footage's frame scores.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from core.errors import DataError, ModelNotFittedError
from core.families.motion.features import MotionFeaturizer
from core.registry import ModelSpec
from core.scorers.base import ModelInfo, Scorer, ScoringStream, calibrate

REF_Z = 6.0
LIVE_WINDOW_S = 60.0
LIVE_WARMUP_S = 3.0
# Robust scale floors (frame widths / s): below these, motion is camera noise, not behaviour.
FLOOR_ACTIVITY = 0.004
FLOOR_FASTEST = 0.03


def frame_stats(cells: np.ndarray) -> np.ndarray:
    """(rows, cols, 2) cell features -> (2,) [activity, fastest]."""
    return np.array([cells[..., 0].mean(), cells[..., 1].max()], np.float64)


def robust_z(stats: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """stats (N,2) against baseline samples (M,2) -> z (N,2), median/MAD with floors."""
    med = np.median(baseline, axis=0)
    mad = np.median(np.abs(baseline - med), axis=0) * 1.4826
    scale = np.maximum(mad, np.array([FLOOR_ACTIVITY, FLOOR_FASTEST]) + 0.25 * med)
    return (stats - med) / scale


class SelfReferencedStream(ScoringStream):
    def __init__(self, live: bool, featurizer: MotionFeaturizer):
        super().__init__(live)
        self.featurizer = featurizer
        self.stats: list[np.ndarray] = []
        self.window: deque[tuple[float, np.ndarray]] = deque()

    def update(self, t: float, frame: np.ndarray) -> float | None:
        stats = frame_stats(self.featurizer.update(t, frame))
        if not self.live:
            self.stats.append(stats)
            return None
        # Live: the baseline is the trailing window; the first frame has no flow (zeros) so skip it.
        first = not self.window and not self.stats
        self.stats.append(stats)
        if first:
            self.window.append((t, stats))
            return 0.0
        enough = self.window and t - self.window[0][0] >= LIVE_WARMUP_S
        score = 0.0
        if enough:
            base = np.array([s for _, s in self.window])
            score = float(calibrate(max(0.0, float(robust_z(stats[None], base).max())), REF_Z))
        self.window.append((t, stats))
        while self.window and self.window[0][0] < t - LIVE_WINDOW_S:
            self.window.popleft()
        return score

    def finish(self) -> np.ndarray:
        if not self.stats:
            return np.zeros(0)
        stats = np.array(self.stats)
        base = stats[1:] if len(stats) > 2 else stats  # frame 0 has no flow
        z = robust_z(stats, base).max(axis=1)
        z[0] = 0.0
        return calibrate(np.maximum(z, 0.0), REF_Z)


class SelfReferencedMotion(Scorer):
    def __init__(self, spec: ModelSpec):
        p = spec.params
        self.grid = (int(p.get("rows", 6)), int(p.get("cols", 8)), int(p.get("work_side", 192)))
        self.info = ModelInfo(spec.name, spec.version, spec.description, "motion")

    def stream(self, live: bool = False) -> ScoringStream:
        return SelfReferencedStream(live, MotionFeaturizer(*self.grid))


def build_motion(spec: ModelSpec, resolve) -> Scorer:
    return SelfReferencedMotion(spec)


# --- fitted -------------------------------------------------------------------------------------------
class MotionNormality:
    """Per-cell reference speeds fitted on normal footage. Arrays: ref (rows, cols, 2)."""

    CELL_Q = 99.5
    FRAME_Q = 99.0

    def __init__(self, ref: np.ndarray, frame_ref: float, grid: tuple[int, int, int]):
        self.ref, self.frame_ref, self.grid = ref.astype(np.float64), float(frame_ref), grid

    def raw(self, cells: np.ndarray) -> np.ndarray:
        """cells (..., rows, cols, 2) -> raw anomaly (...,): largest cell speed ratio to normal."""
        ratio = cells / self.ref
        return ratio.reshape(*ratio.shape[:-3], -1).max(axis=-1)

    def score(self, cells: np.ndarray) -> np.ndarray:
        return calibrate(self.raw(cells), self.frame_ref)

    @classmethod
    def fit(cls, videos: Iterable[np.ndarray], grid: tuple[int, int, int]) -> MotionNormality:
        """videos: per video an array (N, rows, cols, 2) of features (first frame of each skipped)."""
        feats = [v[1:] for v in videos if len(v) > 1]
        if not feats:
            raise DataError("No normal footage with at least two frames to fit on.")
        allf = np.concatenate(feats)
        ref = np.percentile(allf, cls.CELL_Q, axis=0)
        # Cells nobody crossed in training get the typical cell's reference, not ~0 (which would
        # make any later motion there infinitely strange).
        floor = np.median(ref.reshape(-1, ref.shape[-1]), axis=0) * 0.5
        ref = np.maximum(ref, floor[None, None, :] + 1e-6)
        model = cls(ref, 1.0, grid)
        model.frame_ref = float(np.percentile(model.raw(allf), cls.FRAME_Q))
        return model

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, ref=self.ref, frame_ref=self.frame_ref, grid=np.array(self.grid))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> MotionNormality:
        with np.load(path) as z:
            grid = tuple(int(v) for v in z["grid"])
            return cls(z["ref"], float(z["frame_ref"]), grid)  # type: ignore[arg-type]


class FittedStream(ScoringStream):
    def __init__(self, live: bool, model: MotionNormality):
        super().__init__(live)
        self.model = model
        self.featurizer = MotionFeaturizer(*model.grid)
        self.scores: list[float] = []

    def update(self, t: float, frame: np.ndarray) -> float:
        first = self.featurizer._prev is None
        cells = self.featurizer.update(t, frame)
        s = 0.0 if first else float(self.model.score(cells))
        self.scores.append(s)
        return s

    def finish(self) -> np.ndarray:
        return np.array(self.scores, np.float64)


class FittedMotion(Scorer):
    def __init__(self, spec: ModelSpec, model: MotionNormality):
        self.model = model
        self.info = ModelInfo(spec.name, spec.version, spec.description, "motion")

    def stream(self, live: bool = False) -> ScoringStream:
        return FittedStream(live, self.model)


def build_fitted(spec: ModelSpec, resolve) -> Scorer:
    artifact = spec.params.get("artifact")
    if not artifact:
        raise ModelNotFittedError(f"Model '{spec.name}' has no fitted artifact.")
    return FittedMotion(spec, MotionNormality.load(resolve(artifact)))
