"""Pose featurizer: ultralytics YOLO pose + ByteTrack -> value objects -> normalised skeleton features.

Nothing downstream sees an ultralytics ``Results``: ``PoseDetections.from_ultralytics`` is the one
adapter. Keypoints with confidence below 0.5 are missing (zeros), not "at (0,0)" (ultralytics' own
convention). ``PoseTracker`` owns one YOLO instance: create one per stream/thread, never share it
(ultralytics' predictors and trackers keep per-call state and race across threads).

Per track and frame, ``skeleton_features`` gives F = 57 numbers (see its docstring): keypoints relative
to the box, a visibility mask, the box's motion and its place in the frame.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.config import data_dir
from core.features.cache import NpzRecord

N_KPTS = 17
KEYPOINT_MIN_CONF = 0.5
N_FEATURES = 2 * N_KPTS + N_KPTS + 6
POSE_TFLITE = "yolo11n-pose_int8_640.tflite"
POSE_PT = "yolov8n-pose.pt"
FEATURE_VERSION = "1"
TRACKER_CONFIG = Path(__file__).with_name("bytetrack_vigil.yaml")


@dataclass(frozen=True)
class PoseDetections:
    """People found in one frame. Shapes: boxes (K,4) xyxy px float32; confidence (K,) 0..1;
    track_id (K,) int64 (-1 = not tracked yet); keypoints (K,17,3) x px, y px, conf — points below
    ``KEYPOINT_MIN_CONF`` are all zeros (missing)."""

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    track_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, N_KPTS, 3), np.float32))

    def __post_init__(self):
        k = len(self.boxes)
        if self.boxes.shape != (k, 4):
            raise ValueError(f"boxes must be (K,4), got {self.boxes.shape}")
        if self.confidence.shape != (k,) or self.track_id.shape != (k,):
            raise ValueError("confidence and track_id need one entry per box")
        if self.keypoints.shape != (k, N_KPTS, 3):
            raise ValueError(f"keypoints must be ({k},{N_KPTS},3), got {self.keypoints.shape}")
        low = self.keypoints[..., 2] < KEYPOINT_MIN_CONF
        if np.any(self.keypoints[low] != 0):
            raise ValueError("keypoints below the confidence floor must be zeros (missing)")

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> PoseDetections:
        return cls()

    @classmethod
    def from_arrays(cls, boxes, confidence, track_id, keypoints) -> PoseDetections:
        """Build from raw arrays, masking low-confidence keypoints as missing."""
        kp = np.asarray(keypoints, np.float32).reshape(-1, N_KPTS, 3).copy()
        kp[kp[..., 2] < KEYPOINT_MIN_CONF] = 0.0
        return cls(
            np.asarray(boxes, np.float32).reshape(-1, 4),
            np.asarray(confidence, np.float32).reshape(-1),
            np.asarray(track_id, np.int64).reshape(-1),
            kp,
        )

    @classmethod
    def from_ultralytics(cls, result) -> PoseDetections:
        """Adapter for one ultralytics ``Results`` of a pose model (tracked or not)."""
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return cls.empty()
        xyxy = boxes.xyxy.cpu().numpy()
        conf = boxes.conf.cpu().numpy()
        ids = boxes.id.cpu().numpy().astype(np.int64) if boxes.id is not None else np.full(len(xyxy), -1)
        if result.keypoints is not None and len(result.keypoints.data) == len(xyxy):
            kp = result.keypoints.data.cpu().numpy()
            if kp.shape[-1] == 2:  # models without keypoint confidence: treat all as seen
                kp = np.concatenate([kp, np.ones(kp.shape[:-1] + (1,), kp.dtype)], -1)
        else:
            kp = np.zeros((len(xyxy), N_KPTS, 3), np.float32)
        return cls.from_arrays(xyxy, conf, ids, kp)


def skeleton_features(
    box: np.ndarray, keypoints: np.ndarray, prev_box: np.ndarray | None, dt: float, frame_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """One person in one frame -> (features (57,) float32, valid mask (57,) bool).

    - 34: keypoint x, y relative to the box centre, in box heights (missing points 0, mask False);
    - 17: visibility (1 seen, 0 missing);
    - 6: box centre velocity x, y (box heights / s), log height change (/ s), aspect w/h,
      centre y and height in frame heights (where in the scene, how far from the camera).
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    seen = keypoints[:, 2] >= KEYPOINT_MIN_CONF
    rel = np.zeros((N_KPTS, 2), np.float32)
    rel[seen, 0] = (keypoints[seen, 0] - cx) / h
    rel[seen, 1] = (keypoints[seen, 1] - cy) / h
    motion = np.zeros(3, np.float32)
    if prev_box is not None and dt > 0:
        px1, py1, px2, py2 = (float(v) for v in prev_box)
        ph = max(py2 - py1, 1.0)
        motion[:] = [
            ((cx - (px1 + px2) / 2) / h) / dt,
            ((cy - (py1 + py2) / 2) / h) / dt,
            np.log(h / ph) / dt,
        ]
    fh = float(frame_hw[0])
    feat = np.concatenate([rel.reshape(-1), seen.astype(np.float32), motion, [w / h, cy / fh, h / fh]])
    valid = np.concatenate([np.repeat(seen, 2), np.ones(N_KPTS + 6, bool)])
    return feat.astype(np.float32), valid


class TrackHistory:
    """Per-track feature sequences, fed one frame of ``PoseDetections`` at a time (timestamps in s).

    Tracks not seen for ``max_gap`` s are dropped. ``window(track)`` -> (T,57) features and (T,57) mask
    of that track's last ``steps`` frames, edge-padded at the start when the track is younger.
    """

    def __init__(self, steps: int = 20, max_gap: float = 2.0):
        self.steps, self.max_gap = steps, max_gap
        self.feats: dict[int, list[np.ndarray]] = {}
        self.masks: dict[int, list[np.ndarray]] = {}
        self.last: dict[int, tuple[float, np.ndarray]] = {}

    def update(self, t: float, det: PoseDetections, frame_hw: tuple[int, int]) -> list[int]:
        """Returns the track ids present in this frame (untracked people are skipped)."""
        present = []
        for i in range(len(det)):
            tid = int(det.track_id[i])
            if tid < 0:
                continue
            prev = self.last.get(tid)
            prev_box, dt = (prev[1], t - prev[0]) if prev else (None, 0.0)
            f, m = skeleton_features(det.boxes[i], det.keypoints[i], prev_box, dt, frame_hw)
            self.feats.setdefault(tid, []).append(f)
            self.masks.setdefault(tid, []).append(m)
            # Keep only what a window needs: bounded memory on an endless live stream.
            del self.feats[tid][: -self.steps], self.masks[tid][: -self.steps]
            self.last[tid] = (t, det.boxes[i].copy())
            present.append(tid)
        for tid in [k for k, (lt, _) in self.last.items() if t - lt > self.max_gap]:
            self.feats.pop(tid, None), self.masks.pop(tid, None), self.last.pop(tid, None)
        return present

    def length(self, tid: int) -> int:
        return len(self.feats.get(tid, []))

    def window(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        f, m = np.array(self.feats[tid]), np.array(self.masks[tid])
        if len(f) < self.steps:
            pad = self.steps - len(f)
            f = np.concatenate([np.repeat(f[:1], pad, 0), f])
            m = np.concatenate([np.repeat(m[:1], pad, 0), m])
            # The first step has no previous box: its motion is unknown, not zero speed.
        return f, m


class PoseTracker:
    """One YOLO pose model + ByteTrack state for one stream. Not thread-safe: one per thread."""

    def __init__(self, weights: str | Path, imgsz: int = 640, conf: float = 0.05):
        from ultralytics import YOLO

        self.weights = Path(weights)
        self.model = YOLO(str(weights), task="pose")
        self.imgsz, self.conf = imgsz, conf

    def update(self, frame: np.ndarray) -> PoseDetections:
        """BGR uint8 (H,W,3) -> tracked people."""
        results = self.model.track(
            frame, persist=True, tracker=str(TRACKER_CONFIG), imgsz=self.imgsz, conf=self.conf, verbose=False
        )
        return PoseDetections.from_ultralytics(results[0])


# --- offline extraction with a cache -------------------------------------------------------------------
@dataclass(frozen=True)
class PoseTrackSet(NpzRecord):
    """All detections of one video, flattened. Shapes: t (N,) s per sampled frame; det_frame (D,) index
    into t; boxes (D,4); confidence (D,); track_id (D,); keypoints (D,17,3); frame_hw (2,)."""

    t: np.ndarray
    det_frame: np.ndarray
    boxes: np.ndarray
    confidence: np.ndarray
    track_id: np.ndarray
    keypoints: np.ndarray
    frame_hw: np.ndarray

    def frames(self):
        """Yields (t, PoseDetections) per sampled frame, in order."""
        order = np.argsort(self.det_frame, kind="stable")
        starts = np.searchsorted(self.det_frame[order], np.arange(len(self.t) + 1))
        for i, t in enumerate(self.t):
            sel = order[starts[i] : starts[i + 1]]
            yield (
                float(t),
                PoseDetections(self.boxes[sel], self.confidence[sel], self.track_id[sel], self.keypoints[sel]),
            )


def track_video(source, weights: Path, fps: float = 5.0, max_side: int = 640, cache: bool = True) -> PoseTrackSet:
    """Detections of one ``VideoSource`` at ``fps``, cached by (sha256, fps, weights) under
    ``$VIGIL_DATA_DIR/features/``. A fresh tracker per video: track ids never leak across videos."""
    key = hashlib.sha256(json.dumps([fps, max_side, Path(weights).name, FEATURE_VERSION]).encode()).hexdigest()[:12]
    path = data_dir() / "features" / f"pose-{key}" / f"{source.sha256}.npz"
    if cache and path.is_file():
        try:
            return PoseTrackSet.load(path)
        except (OSError, ValueError, KeyError):
            pass
    tracker = PoseTracker(weights)
    ts, idx, dets, hw = [], [], [], (0, 0)
    for i, fr in enumerate(source.frames(fps=fps, max_side=max_side)):
        hw = fr.image.shape[:2]
        d = tracker.update(fr.image)
        ts.append(fr.t)
        idx.extend([i] * len(d))
        dets.append(d)

    def cat(name, shape):
        return np.concatenate([getattr(d, name) for d in dets]) if dets else np.zeros(shape)

    out = PoseTrackSet(
        np.array(ts, np.float64),
        np.array(idx, np.int64),
        cat("boxes", (0, 4)).astype(np.float32),
        cat("confidence", (0,)).astype(np.float32),
        cat("track_id", (0,)).astype(np.int64),
        cat("keypoints", (0, N_KPTS, 3)).astype(np.float32),
        np.array(hw, np.int64),
    )
    if cache:
        out.save(path)
    return out
