"""Moving objects from dense optical flow: one frame in, the moving regions of that frame out.

Each frame is turned grey and resized so its width is ``work_width`` px (a small copy keeps the flow
cheap: ~3 ms a frame on one core at 224 px). DIS optical flow against the previous frame gives every
pixel a velocity; pixels faster than ``min_speed`` (work-image widths per second) whose brightness also
changed are foreground; a closing joins a body's parts; each connected region larger than ``min_area``
is one *moving object* with its box, its mean velocity, its 90th-percentile speed and its area.
224 px and 0.013 widths/s (0.29 px a frame at 10 fps: slow walkers stay whole) were chosen on UCSD Ped2
testing clips 01,03,05,07,09,11 (a development split; see benchmarks/ped2_objects.py); 192 px lost
small fast objects (frame AUC -0.04), 256 px cost twice the time for +0.00.

``RegionExtractor.update(t, frame) -> MovingObjects``; the first frame (no previous one) has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

# Pixel grey change that makes a flow vector believable: DIS invents small motion in flat, noisy areas.
DIFF_LEVEL = 6
# A repeated frame (encoder or camera resending) within this many s of the last distinct one carries
# no motion: the previous objects are kept instead of an empty frame.
REPEAT_MAX_GAP = 0.25
REPEAT_PIXELS = 0.0005
MIN_STEP_PX = 0.15  # px of the work image: DIS's noise level on still, compressed video
PEAK_Q = 0.9  # the speed of an object: this quantile of its pixels' speeds


@dataclass(frozen=True)
class MovingObjects:
    """The moving regions of one frame.

    Shapes: ``boxes`` (K,4) xyxy in px of the frame given to ``update``; ``velocity`` (K,2) vx, vy in
    px/s of that frame; ``area`` (K,) px² of that frame. ``t`` in s.
    """

    t: float
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    velocity: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    area: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    peak: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def __post_init__(self):
        k = len(self.boxes)
        if self.boxes.shape != (k, 4) or self.velocity.shape != (k, 2) or self.area.shape != (k,):
            raise ValueError("boxes (K,4), velocity (K,2) and area (K,) must agree")

    def __len__(self) -> int:
        return len(self.boxes)

    @property
    def speed(self) -> np.ndarray:
        """(K,) px/s."""
        return np.hypot(self.velocity[:, 0], self.velocity[:, 1])

    @property
    def height(self) -> np.ndarray:
        """(K,) px."""
        return self.boxes[:, 3] - self.boxes[:, 1]

    @property
    def bottom(self) -> np.ndarray:
        """(K,) px: the row where the object meets the ground (what perspective scales with)."""
        return self.boxes[:, 3]


class RegionExtractor:
    """Per-video state (the previous frame and the flow's buffers). Not thread-safe: one per stream."""

    def __init__(self, work_width: int = 224, min_speed: float = 0.013, min_area: float = 0.0008, finest: int = 1):
        """``min_speed``: work-image widths per second; ``min_area``: fraction of the frame's area."""
        self.work_width, self.min_speed, self.min_area = work_width, min_speed, min_area
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._flow.setFinestScale(finest)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame (e.g. at a scene cut: flow across a cut is meaningless)."""
        self._prev: np.ndarray | None = None
        self._prev_t: float | None = None
        self._distinct_t: float | None = None  # time of the last frame that was not a repeat
        self._last: MovingObjects | None = None
        self.last_gray: np.ndarray | None = None

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        h, w = gray.shape
        nw = min(self.work_width, w)
        nh = max(8, int(round(h * nw / w)))
        while gray.shape[1] >= 2 * nw:  # halving first: INTER_AREA alone costs 2x at 640 -> 224 px
            gray = cv2.pyrDown(gray)
        return cv2.resize(gray, (nw, nh), interpolation=cv2.INTER_AREA)

    def update(self, t: float, frame: np.ndarray) -> MovingObjects:
        """frame: BGR or grey uint8 (H,W[,3]); t: s. Boxes and velocities come back in px of ``frame``."""
        cur = self._prepare(frame)
        self.last_gray = cur
        prev, prev_t = self._prev, self._prev_t
        if prev is None or prev.shape != cur.shape:
            self._prev, self._prev_t, self._distinct_t = cur, t, t
            self._last = MovingObjects(t)
            return self._last
        diff = cv2.absdiff(cur, prev)
        changed = diff > DIFF_LEVEL
        distinct_t = self._distinct_t if self._distinct_t is not None else prev_t
        if self._last is not None and t - distinct_t < REPEAT_MAX_GAP and changed.mean() <= REPEAT_PIXELS:
            # A repeat (bounded in time since the last distinct frame, so a still scene is not one): keep the
            # last objects; the clock still advances so the next distinct frame's step is one frame.
            self._prev_t = t
            return MovingObjects(t, self._last.boxes, self._last.velocity, self._last.area, self._last.peak)
        dt = t - prev_t if t > prev_t else 0.1
        self._prev, self._prev_t, self._distinct_t = cur, t, t
        flow = self._flow.calc(prev, cur, None)
        mag2 = flow[..., 0] ** 2 + flow[..., 1] ** 2
        # Threshold per frame step; floored so that at high fps it stays above the flow's noise.
        thr = max(MIN_STEP_PX, self.min_speed * cur.shape[1] * dt)
        fg = (mag2 > thr**2) & cv2.dilate(changed.view(np.uint8), self._kernel).view(bool)
        fg = cv2.morphologyEx(fg.view(np.uint8), cv2.MORPH_CLOSE, self._kernel)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        keep = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= self.min_area * fg.size) + 1
        if len(keep) == 0:
            self._last = MovingObjects(t)
            return self._last
        # Mean velocity per region in one pass over the pixels (bincount), not a loop over regions.
        flat = labels.ravel()
        fgp = fg.ravel().astype(bool)
        cnt = np.bincount(flat[fgp], minlength=n).astype(np.float64)
        vx = np.bincount(flat[fgp], weights=flow[..., 0].ravel()[fgp], minlength=n) / np.maximum(cnt, 1)
        vy = np.bincount(flat[fgp], weights=flow[..., 1].ravel()[fgp], minlength=n) / np.maximum(cnt, 1)
        scale = frame.shape[1] / cur.shape[1]  # work px -> frame px
        st = stats[keep].astype(np.float32)
        boxes = np.stack([st[:, 0], st[:, 1], st[:, 0] + st[:, 2], st[:, 1] + st[:, 3]], axis=1) * np.float32(scale)
        mag = np.sqrt(mag2).ravel()[fgp]
        lab = flat[fgp]
        order = np.lexsort((mag, lab))
        start = np.concatenate([[0], np.cumsum(cnt)]).astype(int)
        at = start[keep] + (PEAK_Q * (cnt[keep] - 1)).astype(int)  # the quantile's row in each region's run
        pk = mag[order[at]].astype(np.float32) * np.float32(scale / dt)
        vel = np.stack([vx[keep], vy[keep]], axis=1).astype(np.float32) * np.float32(scale / dt)
        area = (cnt[keep] * scale * scale).astype(np.float32)
        self._last = MovingObjects(t, boxes.astype(np.float32), vel, area, pk)
        return self._last
