"""``pose-lstm-ae``: per-person motion normality from tracked skeletons (core.families.pose.features).

Every tracked person keeps a window of their last ``steps`` skeleton feature vectors (about 4 s at the
5 frames/s this model asks for). An LSTM autoencoder (core.families.pose.lstm_ae), trained on the windows of normal
footage, reconstructs each window; the frame's raw score is the highest reconstruction error among the
people present, and ``score = calibrate(raw, ref)`` with ``ref`` = the 99th percentile of the training
windows' errors, so 0.5 means "as strange as the strangest 1% of normal people-moments" and 0.75 twice
that error. The person who drove the score is the culprit in ``Evidence`` (box and skeleton), so a
thumbnail can draw them. Frames with nobody tracked score 0: this model only sees people.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.errors import DataError, ModelNotFittedError
from core.families.pose.features import N_FEATURES, PoseDetections, PoseTracker, PoseTrackSet, TrackHistory
from core.registry import ModelSpec
from core.scorers.base import Evidence, ModelInfo, Scorer, ScoringStream, calibrate

ProgressFn = Callable[[float, str], None]
STEPS = 20
MIN_STEPS = 3  # a person tracked for less than this is not scored yet (no motion to judge)
REF_Q = 99.0
FPS = 5.0


class PoseNormality:
    """The fitted model: autoencoder + feature standardisation (mean, std (57,)) + calibration ``ref``."""

    def __init__(self, model, mean: np.ndarray, std: np.ndarray, ref: float, steps: int = STEPS, fps: float = FPS):
        self.model, self.mean, self.std = model, np.asarray(mean, np.float32), np.asarray(std, np.float32)
        self.ref, self.steps, self.fps = float(ref), int(steps), float(fps)

    def standardise(self, f: np.ndarray, m: np.ndarray) -> np.ndarray:
        return np.where(m, (f - self.mean) / self.std, 0.0).astype(np.float32)

    def window_errors(self, windows: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """(N,T,57) raw features + masks -> (N,) reconstruction errors."""
        from core.families.pose.lstm_ae import errors

        if not len(windows):
            return np.zeros(0)
        return errors(self.model, self.standardise(windows, masks), masks.astype(np.float32))

    def frame_raw(self, history: TrackHistory, present: list[int]) -> tuple[float, int]:
        """(highest error among present tracks, its index in ``present``; -1 if none is old enough)."""
        ok = [i for i, tid in enumerate(present) if history.length(tid) >= MIN_STEPS]
        if not ok:
            return 0.0, -1
        wins = [history.window(present[i]) for i in ok]
        errs = self.window_errors(np.array([w for w, _ in wins]), np.array([m for _, m in wins]))
        j = int(np.argmax(errs))
        return float(errs[j]), ok[j]

    def save(self, path: Path) -> None:
        from core.families.pose.lstm_ae import to_arrays

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(
            tmp,
            mean=self.mean,
            std=self.std,
            ref=np.array(self.ref),
            steps=np.array(self.steps),
            fps=np.array(self.fps),
            **to_arrays(self.model),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> PoseNormality:
        from core.families.pose.lstm_ae import from_arrays

        with np.load(path) as z:
            a = {k: z[k] for k in z.files}
        return cls(from_arrays(a), a["mean"], a["std"], float(a["ref"]), int(a["steps"]), float(a["fps"]))

    @classmethod
    def fit(
        cls,
        videos: Sequence[PoseTrackSet],
        steps: int = STEPS,
        epochs: int = 30,
        hidden: int = 64,
        seed: int = 0,
        progress: ProgressFn | None = None,
    ) -> PoseNormality:
        from core.families.pose.lstm_ae import errors, train_autoencoder

        wins, masks = [], []
        for ts in videos:
            w, m = track_windows(ts, steps)
            wins.append(w)
            masks.append(m)
        x, m = np.concatenate(wins), np.concatenate(masks)
        if len(x) < 8:
            raise DataError(f"Only {len(x)} tracked-person windows in the normal footage; need people on screen.")
        # Standardise on the last step of each window (each frame once per track, no padding repeats).
        last, lm = x[:, -1], m[:, -1]
        cnt = np.maximum(lm.sum(0), 1)
        mean = np.where(lm, last, 0).sum(0) / cnt
        std = np.sqrt(np.where(lm, (last - mean) ** 2, 0).sum(0) / cnt) + 1e-2
        shell = cls(None, mean, std, 1.0, steps)
        model, _ = train_autoencoder(
            shell.standardise(x, m), m.astype(np.float32), hidden, epochs, seed=seed, progress=progress
        )
        shell.model = model
        err = errors(model, shell.standardise(x, m), m.astype(np.float32))
        shell.ref = max(float(np.percentile(err, REF_Q)), 1e-6)
        return shell


def track_windows(ts: PoseTrackSet, steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Every (track, frame) window of a video with at least MIN_STEPS steps: (N,T,57) features, (N,T,57) masks."""
    hist = TrackHistory(steps)
    wins, masks = [], []
    hw = tuple(int(v) for v in ts.frame_hw)
    for t, det in ts.frames():
        for tid in hist.update(t, det, hw):
            if hist.length(tid) >= MIN_STEPS:
                w, m = hist.window(tid)
                wins.append(w)
                masks.append(m)
    if not wins:
        return np.zeros((0, steps, N_FEATURES), np.float32), np.zeros((0, steps, N_FEATURES), bool)
    return np.array(wins, np.float32), np.array(masks, bool)


def score_trackset(model: PoseNormality, ts: PoseTrackSet) -> np.ndarray:
    """Per sampled frame scores (N,) of a cached track set (same result as a stream over that video)."""
    hist = TrackHistory(model.steps)
    hw = tuple(int(v) for v in ts.frame_hw)
    out = []
    for t, det in ts.frames():
        raw, _ = model.frame_raw(hist, hist.update(t, det, hw))
        out.append(float(calibrate(raw, model.ref)))
    return np.array(out)


class PoseStream(ScoringStream):
    """One YOLO instance per stream (ultralytics models are not safe to share across threads)."""

    def __init__(self, live: bool, weights: Path, model: PoseNormality):
        super().__init__(live)
        self.tracker = PoseTracker(weights)
        self.model = model
        self.history = TrackHistory(model.steps)
        self.scores: list[float] = []
        self.evidences: list[Evidence] = []

    def update(self, t: float, frame: np.ndarray) -> float:
        det = self.tracker.update(frame)
        present = self.history.update(t, det, frame.shape[:2])
        raw, j = self.model.frame_raw(self.history, present)
        score = float(calibrate(raw, self.model.ref))
        self.scores.append(score)
        ev = _evidence(det, present, j)
        if self.live:
            self.evidences[:] = [ev]  # live keeps only the latest: bounded memory
        else:
            self.evidences.append(ev)
        return score

    def finish(self) -> np.ndarray:
        return np.array(self.scores, np.float64)

    def evidence(self, index: int) -> Evidence:
        if not self.evidences:
            return Evidence.empty()
        return self.evidences[-1] if (self.live or index == -1) else self.evidences[index]


def _evidence(det: PoseDetections, present: list[int], j: int) -> Evidence:
    """Boxes/skeletons of everyone; culprit = the row of the track that drove the score."""
    culprit = -1
    if j >= 0:
        rows = np.nonzero(det.track_id == present[j])[0]
        culprit = int(rows[0]) if len(rows) else -1
    return Evidence(det.boxes.copy(), det.keypoints.copy(), culprit)


class PoseScorer(Scorer):
    def __init__(self, spec: ModelSpec, weights: Path, model: PoseNormality):
        self.weights, self.model = weights, model
        self.info = ModelInfo(spec.name, spec.version, spec.description, "pose", preferred_fps=model.fps)

    def stream(self, live: bool = False) -> ScoringStream:
        return PoseStream(live, self.weights, self.model)


def build_pose(spec: ModelSpec, resolve) -> Scorer:
    artifact = spec.params.get("artifact")
    pose_file = spec.params.get("pose_weights")
    if not artifact or not pose_file:
        raise ModelNotFittedError(f"Model '{spec.name}' has no fitted autoencoder or names no pose weights.")
    return PoseScorer(spec, resolve(pose_file), PoseNormality.load(resolve(artifact)))
