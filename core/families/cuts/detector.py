"""Scene cuts (shot boundaries) found on frames already decoded, one at a time, offline and live.

PySceneDetect's ``ContentDetector`` scores each frame's change from the previous one in HSV (mean absolute
difference of hue, saturation and luma, 0..255) and reports a cut when the change reaches ``threshold``
and the last cut is at least ``min_shot_s`` old. It is fed a small copy of the frame (``work_width`` px
wide: the score is a mean, so a small copy gives the same value ~20x cheaper). Causal: the frame that
starts a new shot is reported on its own ``update``.

A join of two clips of one fixed camera (same scene, a jump in time) changes few pixels; such joins are
caught by the *jump* test: a frame whose change is ``jump_ratio`` times the median change of the last
``history`` frames and above ``jump_min`` (0..255) is a cut too (people cannot move that much between two
frames of one shot when they did not a moment ago).
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np
from scenedetect import ContentDetector
from scenedetect.common import FrameTimecode

THRESHOLD = 27.0  # PySceneDetect's default content threshold
JUMP_RATIO = 4.0
JUMP_MIN = 1.5
MIN_SHOT_S = 0.5
HISTORY = 10


class CutDetector:
    """Per-stream state. ``update(t, frame) -> bool``: True when ``frame`` is the first of a new shot.

    ``change`` holds the last frame's content change (0..255); ``cuts`` the times (s) of all cuts so far.
    """

    def __init__(
        self,
        threshold: float = THRESHOLD,
        jump_ratio: float = JUMP_RATIO,
        jump_min: float = JUMP_MIN,
        min_shot_s: float = MIN_SHOT_S,
        work_width: int = 160,
    ):
        self.threshold, self.jump_ratio, self.jump_min = threshold, jump_ratio, jump_min
        self.min_shot_s, self.work_width = min_shot_s, work_width
        # min_scene_len=0: the shot-length rule is applied here, in seconds, whatever the frame rate
        self._detector = ContentDetector(threshold=threshold, min_scene_len=0)
        self._history: deque[float] = deque(maxlen=HISTORY)
        self._n = 0
        self._last_cut_t: float | None = None
        self.change = 0.0
        self.cuts: list[float] = []

    def _small(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        if w <= self.work_width:
            return frame
        return cv2.resize(
            frame, (self.work_width, max(2, round(h * self.work_width / w))), interpolation=cv2.INTER_AREA
        )

    def update(self, t: float, frame: np.ndarray) -> bool:
        """Consume one BGR uint8 frame (H,W,3) at ``t`` (s)."""
        small = self._small(frame)
        self._detector.process_frame(FrameTimecode(self._n, fps=10.0), small)
        self._n += 1
        change = float(self._detector._frame_score or 0.0)  # the per-frame score PySceneDetect just computed
        self.change = change
        first = self._n == 1
        typical = float(np.median(self._history)) if len(self._history) >= 3 else None
        jump = typical is not None and change >= self.jump_min and change >= self.jump_ratio * max(typical, 0.5)
        cut = not first and (change >= self.threshold or jump)
        if cut and self._last_cut_t is not None and t - self._last_cut_t < self.min_shot_s:
            cut = False
        if cut:
            self._last_cut_t = t
            self.cuts.append(t)
            self._history.clear()  # the new shot's own changes are the reference from here on
        elif not first:
            self._history.append(change)
        return cut
