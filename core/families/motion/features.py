"""Motion featurizer: dense optical flow pooled on a coarse grid of cells.

Each frame is converted to grey, resized so its longer side is ``work_side`` px, and compared with the
previous frame by DIS dense optical flow. Flow is expressed in *frame widths per second* so the
features do not depend on resolution or frame rate. Per cell of a ``rows x cols`` grid we keep:

- ``mean``: mean flow speed over the cell;
- ``peak``: 90th-percentile speed in the cell (a fast small object, e.g. a bike, in a slow crowd).

``update`` returns a (rows, cols, 2) float32 array; the first frame returns zeros.
"""

from __future__ import annotations

import cv2
import numpy as np

N_FEATURES = 2  # mean, peak
# A frame in which almost no pixel changed (at most REPEAT_PIXELS of the work image by more than
# REPEAT_DIFF grey levels) within REPEAT_MAX_GAP s of the last distinct one is a repeat (frame-rate
# conversion, an encoder or WebRTC resending), not a standstill. Counting pixels, not averaging,
# keeps a small object moving slowly from looking like a repeat.
REPEAT_DIFF = 8
REPEAT_PIXELS = 0.0005
REPEAT_MAX_GAP = 0.25


class MotionFeaturizer:
    def __init__(self, rows: int = 6, cols: int = 8, work_side: int = 192):
        self.rows, self.cols, self.work_side = rows, cols, work_side
        # DIS ultrafast refined down to half resolution: ~3x cheaper than Farneback here, and on UCSD
        # Ped2 within 0.01 ROC AUC of it once smoothed (finest scale 2 loses bikes: 0.70). One
        # instance per featurizer because it keeps internal buffers.
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._flow.setFinestScale(1)
        self._prev: np.ndarray | None = None
        self._prev_t: float | None = None
        self._distinct_t: float | None = None  # time of the last frame that was not a repeat
        self._last = np.zeros((rows, cols, N_FEATURES), np.float32)

    def reset(self) -> None:
        self._prev, self._prev_t, self._distinct_t = None, None, None
        self._last = np.zeros_like(self._last)

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        h, w = gray.shape
        scale = self.work_side / max(h, w)
        # Size divisible by the grid so cells tile the frame exactly.
        nw = max(self.cols * 4, int(round(w * scale / self.cols)) * self.cols)
        nh = max(self.rows * 4, int(round(h * scale / self.rows)) * self.rows)
        return cv2.resize(gray, (nw, nh), interpolation=cv2.INTER_AREA)

    def update(self, t: float, frame: np.ndarray) -> np.ndarray:
        """frame: BGR or grey uint8 (H,W[,3]); t: seconds. Returns (rows, cols, 2) float32."""
        cur = self._prepare(frame)
        out = np.zeros((self.rows, self.cols, N_FEATURES), np.float32)
        prev, prev_t = self._prev, self._prev_t
        if (
            prev is not None
            and prev.shape == cur.shape
            and self._distinct_t is not None
            and t - self._distinct_t < REPEAT_MAX_GAP
            and np.count_nonzero(cv2.absdiff(cur, prev) > REPEAT_DIFF) <= REPEAT_PIXELS * cur.size
        ):
            # A repeated frame carries no new motion: report the last motion. (Scored as zero flow,
            # repeats would pull every smoothed score down, e.g. a 25 fps clip on a 30 fps camera.)
            # The clock still advances: the next distinct frame is one source step after this one.
            self._prev_t = t
            return self._last.copy()
        self._prev, self._prev_t, self._distinct_t = cur, t, t
        if prev is None or prev.shape != cur.shape:
            self._last = out
            return out
        dt = t - prev_t if prev_t is not None and t > prev_t else 0.1
        flow = self._flow.calc(prev, cur, None)
        speed = np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2) / (cur.shape[1] * dt)
        h, w = speed.shape
        ch, cw = h // self.rows, w // self.cols
        cells = speed.reshape(self.rows, ch, self.cols, cw).transpose(0, 2, 1, 3).reshape(self.rows, self.cols, -1)
        out[..., 0] = cells.mean(axis=2)
        k = int(cells.shape[2] * 0.9)
        out[..., 1] = np.partition(cells, k, axis=2)[..., k]
        self._last = out
        return out.copy()
