"""The one annotator for every picture Vigil draws on: live frames, alert snapshots, thumbnails and
exported clips all describe what to show as an ``Overlay`` and call ``annotate``, so they look alike.

Layout (BGR frame, in place): evidence (boxes, the culprit red; skeletons), a border in the state
colour, a score bar along the bottom (fill = score, white tick = threshold), a caption top left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from core.scorers.base import Evidence

Colour = tuple[int, int, int]  # BGR
NORMAL: Colour = (80, 200, 80)  # below the threshold
ABOVE: Colour = (0, 190, 255)  # above the threshold, not (yet) an alert or a segment
ALERT: Colour = (40, 40, 240)  # an alert was sent / inside an anomalous segment
COOLDOWN: Colour = (230, 160, 60)
CULPRIT: Colour = (40, 40, 240)
OTHER_BOX: Colour = (220, 220, 220)
# Longer side (px) a frame is enlarged to before drawing (core.images.upscaled): the caption and the bar are a
# fixed size, and on a 33x17 video the caption covered more than half the picture.
MIN_SIDE = 320

# COCO-17 skeleton edges (keypoint index pairs).
SKELETON = [(5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16)]


@dataclass(frozen=True)
class Overlay:
    """What to draw on one frame; every part is optional.

    score: 0..1 fill of the bottom bar (None: no bar); threshold: 0..1 tick on the bar;
    colour: BGR of the bar and the border; border: none, thin (2 px) or thick (w/160 px);
    evidence: who drove the score, in the pixels of a frame of ``evidence_size`` (h, w) — scaled to
    the drawn frame ((0, 0): same size); caption: one line of text top left.
    """

    score: float | None = None
    threshold: float | None = None
    colour: Colour = NORMAL
    border: Literal["none", "thin", "thick"] = "none"
    evidence: Evidence | None = None
    evidence_size: tuple[int, int] = (0, 0)
    caption: str = ""


def score_colour(score: float, threshold: float, anomalous: bool) -> Colour:
    """Red inside an anomalous segment/episode, orange above the threshold outside one, else green."""
    return ALERT if anomalous else (ABOVE if score > threshold else NORMAL)


def annotate(frame: np.ndarray, overlay: Overlay) -> np.ndarray:
    """Draw ``overlay`` on ``frame`` (BGR (H, W, 3) uint8, in place). Returns ``frame``."""
    h, w = frame.shape[:2]
    if overlay.evidence is not None:
        sh, sw = overlay.evidence_size
        draw_evidence(frame, overlay.evidence, *((w / sw, h / sh) if sw and sh else (1.0, 1.0)))
    if overlay.border != "none":
        thick = max(2, w // 160) if overlay.border == "thick" else 2
        cv2.rectangle(frame, (0, 0), (w - 1, h - 1), overlay.colour, thick)
    if overlay.score is not None:
        bar_h = max(8, h // 30)
        y0 = h - bar_h - 4
        cv2.rectangle(frame, (4, y0), (w - 5, h - 5), (40, 40, 40), -1)
        fill = int((w - 9) * min(1.0, max(0.0, overlay.score)))
        if fill > 0:
            cv2.rectangle(frame, (4, y0), (4 + fill, h - 5), overlay.colour, -1)
        if overlay.threshold is not None:
            tx = 4 + int((w - 9) * overlay.threshold)
            cv2.line(frame, (tx, y0 - 3), (tx, h - 2), (255, 255, 255), 2)
    if overlay.caption:
        scale = max(0.4, w / 1400)
        (tw, th), _ = cv2.getTextSize(overlay.caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.rectangle(frame, (4, 4), (min(w - 5, 12 + tw), 12 + th), (0, 0, 0), -1)
        cv2.putText(
            frame, overlay.caption, (8, 8 + th), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA
        )
    return frame


def draw_evidence(frame: np.ndarray, evidence: Evidence, sx: float = 1.0, sy: float = 1.0) -> np.ndarray:
    """Draw who drove the score (in place): every box thin grey, the culprit's red; skeletons.

    Evidence is in the scored frame's pixels; ``sx``/``sy`` scale it to ``frame``. Keypoints with
    confidence below 0.5 are missing, not at (0, 0).
    """
    for i, (x1, y1, x2, y2) in enumerate(evidence.boxes):
        c = CULPRIT if i == evidence.culprit else OTHER_BOX
        cv2.rectangle(frame, (int(x1 * sx), int(y1 * sy)), (int(x2 * sx), int(y2 * sy)), c, 2)
    for person in evidence.keypoints:
        pts = [(int(x * sx), int(y * sy)) if c >= 0.5 else None for x, y, c in person]
        for a, b in SKELETON:
            if pts[a] and pts[b]:
                cv2.line(frame, pts[a], pts[b], (255, 200, 0), 2)
        for pt in pts:
            if pt:
                cv2.circle(frame, pt, 3, (0, 255, 255), -1)
    return frame


NAMED = (0, 215, 255)  # BGR yellow: the object a detector named


def draw_named(frame: np.ndarray, box, label: str) -> np.ndarray:
    """Box the object a detector named (yellow, in ``frame``'s pixels) with its label above it (in place)."""
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    cv2.rectangle(frame, (x1, y1), (x2, y2), NAMED, 2)
    scale = max(0.35, w / 1600)
    (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    ty = y2 + th + 4 if y2 + th + 6 <= h else max(th + 3, y1 - 4)  # below the box: a rider stays visible
    cv2.rectangle(frame, (x1, ty - th - 3), (min(w - 1, x1 + tw + 4), ty + 2), NAMED, -1)
    cv2.putText(frame, label, (x1 + 2, ty), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return frame
