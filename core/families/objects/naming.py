"""Naming the object responsible for a segment with a COCO detector, when its weights are here.

The objects cue finds moving objects from foreground regions of dense flow: no weights, a few ms a frame.
A detector on every frame does not fit the default model's budget (YOLOv8n int8 takes about 120 ms a
frame on 2 CPU cores: at 25 fps that is 3 s of work per second of video, against >= 10x real time). So
the detector is used where it pays and costs little: **once per segment**, on the segment's peak frame
(already decoded for its thumbnail), to say *what* the object responsible is — "fast object (bicycle)",
"unusual object (truck)", "fast object (person)" (someone running). Scores are untouched.

Weights: ``yolov8n_int8_640.tflite`` (runs with ``ai-edge-litert``) or ``yolov8n.pt``, found in the
models folders (``core.registry.search_dirs``). Naming never downloads during an analysis (``python -m core
fetch yolov8n_int8_640.tflite`` does, from the catalogue in ``models/manifest.json``); without the weights
(or without ultralytics) segments keep their plain cause.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DETECT_TFLITE = "yolov8n_int8_640.tflite"
DETECT_PT = "yolov8n.pt"
OBJECT_CAUSES = ("fast object", "unusual object", "object moving against the flow")
MIN_CONF = 0.25  # a detection below this is not trusted to name anything
MIN_IOU = 0.3  # the culprit's flow region and the detection must overlap this much
# COCO labels of things that move by themselves (what a moving region can be); carried things never name one
MOVERS = frozenset(
    {"person", "bicycle", "car", "motorcycle", "bus", "train", "truck", "boat", "skateboard"}
    | {"bird", "cat", "dog", "horse", "sheep", "cow"}
)


@dataclass(frozen=True)
class Detection:
    """One detected object: box (4,) xyxy px in the image it was found in, COCO label, confidence 0..1."""

    box: np.ndarray
    label: str
    conf: float


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _inside(d: Detection, box: np.ndarray) -> bool:
    cx, cy = (d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2
    return bool(box[0] <= cx <= box[2] and box[1] <= cy <= box[3])


def match(box: np.ndarray, detections: list[Detection]) -> Detection | None:
    """The detection that is the object in ``box`` (xyxy px), or None.

    Only things that move by themselves count (``MOVERS``: people, vehicles, animals; not a handbag). Candidates
    overlap the box by at least ``MIN_IOU`` or have their centre inside it: a flow region often merges a
    group, or a rider and the bike. Among them the label that is **rarest in the frame** wins — the cue found an
    object that moves unlike the others, and a bicycle among pedestrians (or the rider's bicycle rather than
    the rider) is that object; ties: the larger overlap, then the higher confidence. When no candidate is
    found, the smallest mover holding the box's centre and at most four times its area (a region that covers
    only the moving part of something)."""
    box = np.asarray(box, dtype=np.float64)
    movers = [d for d in detections if d.label in MOVERS]
    counts = Counter(d.label for d in movers)
    scored = [(d, _iou(box, d.box)) for d in movers]
    candidates = [(d, iou) for d, iou in scored if iou >= MIN_IOU or _inside(d, box)]
    if candidates:
        return min(candidates, key=lambda c: (counts[c[0].label], -c[1], -c[0].conf))[0]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    area = max((box[2] - box[0]) * (box[3] - box[1]), 1.0)
    holding = [
        d
        for d in movers
        if d.box[0] <= cx <= d.box[2]
        and d.box[1] <= cy <= d.box[3]
        and (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]) <= 4 * area
    ]
    return min(holding, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1])) if holding else None


class ObjectNamer:
    """One YOLO detector (ultralytics) behind a lock: ultralytics predictors keep per-call state. Built warm (one
    blank inference), so its first real detection costs what every other one does."""

    def __init__(self, weights: Path):
        from ultralytics import YOLO

        self.weights = weights
        self._model = YOLO(str(weights), task="detect")
        self._lock = threading.Lock()
        self.detect(np.zeros((64, 64, 3), np.uint8))  # the first inference sets the runtime up: loaded = ready

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        with self._lock:
            result = self._model.predict(image_bgr, imgsz=640, conf=MIN_CONF, verbose=False)[0]
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return []
        xyxy = boxes.xyxy.cpu().numpy().astype(np.float64)
        cls = boxes.cls.cpu().numpy().astype(int)
        conf = boxes.conf.cpu().numpy().astype(float)
        return [Detection(xyxy[k], str(result.names[int(cls[k])]), float(conf[k])) for k in range(len(cls))]

    def name(self, image_bgr: np.ndarray, box: np.ndarray) -> Detection | None:
        """What the object in ``box`` (xyxy px of ``image_bgr``) is, or None when the detector cannot say."""
        return match(box, self.detect(image_bgr))


_NAMER: ObjectNamer | None = None
_NAMER_KEY: Path | None = None
_NAMER_LOCK = threading.Lock()


def weights_here() -> Path | None:
    """The detector's weights when a models folder has them (the int8 TFLite model first); never downloads."""
    from core.registry import find_file

    return find_file(DETECT_TFLITE) or find_file(DETECT_PT)


def object_namer() -> ObjectNamer | None:
    """The process's namer, or None when the weights or ultralytics are missing (segments keep their plain
    cause). Loaded once per process and per weight file."""
    global _NAMER, _NAMER_KEY
    path = weights_here()
    if path is None:
        return None
    with _NAMER_LOCK:
        if _NAMER is None or _NAMER_KEY != path:
            try:
                _NAMER, _NAMER_KEY = ObjectNamer(path), path
            except Exception:  # noqa: BLE001 - a broken optional extra must never fail an analysis
                return None
        return _NAMER


def named(cause: str, label: str) -> str:
    """'fast object' + 'bicycle' -> 'fast object (bicycle)'."""
    return f"{cause} ({label})"


def base_cause(cause: str) -> str:
    """'fast object (bicycle)' -> 'fast object' (a cause without a name is returned as it is)."""
    return cause.split(" (", 1)[0] if cause.endswith(")") else cause
