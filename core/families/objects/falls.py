"""Person down: a tracked foreground blob that turns from standing (tall) to lying (wide) and stays.

Optical flow cannot see a person who lies still, so this cue uses its own foreground: a MOG2
background model on the same small grey copy the flow uses, updated 5 times a second (a lying person
stays foreground for about 20 s before the model absorbs them: see ``setBackgroundRatio`` below).
Blobs are tracked from look to look by box overlap. A track is *standing* when, over at least
``stand_s`` seconds, its median height/width is at least ``stand_ratio``; it is *down* when its box then
becomes wide (width/height >= ``lie_ratio``), at most ``drop`` of its standing height, with an area
within 0.4..1.8x its standing area (two walkers side by side make a wide box too, but with twice the area).

A fall is a movement: the turn from standing to lying counts only when the picture inside the track's boxes
changed over the last ``MOTION_S`` (at least ``MIN_MOTION`` of their pixels by ``MOTION_DIFF`` grey levels).
A *ghost* fails it: where a person stood when the background model started (a scene cut) the model holds
the person; once they walk off the empty ground there is foreground, and as the model absorbs it from the
top down the blob turns short and wide, with nothing moving there.

``raw`` is the number of seconds the track has stayed down; the score is ``calibrate(raw, HOLD_S)``:
0.5 means "has lain for HOLD_S (1 s) after standing", 0.75 two seconds.

Cost: ~2 ms a look at 224 px (MOG2 + connected components + a few boxes in Python), 5 looks a second
(``STEP_S``); between looks the last result holds (its time down keeps counting).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

HOLD_S = 1.0
MAX_MISSING_S = 1.0  # a track unseen for longer is dropped
HISTORY_S = 4.0  # how much of a track's shape history is kept
INIT_FRAMES = 5
STEP_S = 0.2  # seconds between two looks at the foreground (5 a second)
MOTION_S = 1.0  # a fall is looked for in the change over this long (s)
MOTION_DIFF = 25  # grey levels (0..255) that count a pixel as changed
MIN_MOTION = 0.15  # share of the track's boxes' pixels that must have changed for a turn to lying to count


@dataclass
class _Track:
    box: np.ndarray  # (4,) xyxy work px
    last_t: float
    shapes: deque = field(default_factory=deque)  # (t, w, h, area, box)
    standing: tuple[float, float] | None = None  # (height, area) while it stood
    down_since: float | None = None


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (4,), b (K,4) xyxy -> (K,) IoU."""
    x0 = np.maximum(a[0], b[:, 0])
    y0 = np.maximum(a[1], b[:, 1])
    x1 = np.minimum(a[2], b[:, 2])
    y1 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda r: (r[..., 2] - r[..., 0]) * (r[..., 3] - r[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


class PersonDownDetector:
    """Per-video state. ``update(t, gray)`` takes the small grey copy (uint8 (h,w)) and returns
    ``(raw seconds down (>= 0), box xyxy in px of that copy or None)`` for the track down longest."""

    def __init__(
        self,
        stand_ratio: float = 1.3,
        lie_ratio: float = 1.2,
        drop: float = 0.75,
        stand_s: float = 1.0,
        min_area: float = 0.002,
        history: int = 150,
    ):
        self.stand_ratio, self.lie_ratio, self.drop, self.stand_s = stand_ratio, lie_ratio, drop, stand_s
        self.min_area, self.history = min_area, history
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self.reset()

    def reset(self) -> None:
        """Forget the background and the tracks (a scene cut)."""
        self._bg = cv2.createBackgroundSubtractorMOG2(history=self.history, varThreshold=25, detectShadows=False)
        # A still object joins the background once the old background's weight falls below this ratio:
        # after ln(ratio)/ln(1 - 1/history) looks: 0.9 (OpenCV's default) ~3 s, 0.5 ~20 s at 5 looks a second.
        self._bg.setBackgroundRatio(0.5)
        self._tracks: list[_Track] = []
        self._frames = 0
        self._last_t: float | None = None
        self._last_result: tuple[float, np.ndarray | None] = (0.0, None)
        self._grays: deque[tuple[float, np.ndarray]] = deque()  # (t, grey copy) of the looks in the last MOTION_S

    def jump(self) -> None:
        """One camera's clips joined: forget the tracks (people jumped) and the recent looks (the jump itself
        is no movement of theirs); keep the background model, which is of the same scene."""
        self._tracks = []
        self._grays.clear()
        self._last_t = None
        self._last_result = (0.0, None)

    def _blobs(self, gray: np.ndarray) -> np.ndarray:
        self._frames += 1
        # MOG2's automatic rate is 1/frames seen: in a new shot it would absorb a person within seconds.
        # A fast start (1, 1/2, .. 1/INIT_FRAMES) then 1/history keeps a lying person foreground.
        rate = 1.0 / self._frames if self._frames <= INIT_FRAMES else 1.0 / self.history
        fg = self._bg.apply(gray, learningRate=rate)
        if self._frames < 3:  # the model has seen nothing yet: everything is "foreground"
            return np.zeros((0, 5), np.float32)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._kernel)
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self._kernel, iterations=2)
        _, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        st = stats[1:]
        st = st[st[:, cv2.CC_STAT_AREA] >= self.min_area * gray.size].astype(np.float32)
        return np.stack([st[:, 0], st[:, 1], st[:, 0] + st[:, 2], st[:, 1] + st[:, 3], st[:, 4]], axis=1)

    def update(self, t: float, gray: np.ndarray) -> tuple[float, np.ndarray | None]:
        # A fall and a person staying down take seconds: STEP_S between looks halves the cost at 10 fps.
        if self._last_t is not None and t - self._last_t < STEP_S - 1e-6 and t >= self._last_t:
            best = self._last_result
            return (best[0] + (t - self._last_t) if best[1] is not None else 0.0), best[1]
        self._last_t = t
        self._last_result = self._look(t, gray)
        return self._last_result

    def _look(self, t: float, gray: np.ndarray) -> tuple[float, np.ndarray | None]:
        blobs = self._blobs(gray)
        self._gray = gray
        while self._grays and self._grays[0][0] < t - MOTION_S - 1e-6:
            self._grays.popleft()
        free = np.ones(len(blobs), bool)
        for tr in sorted(self._tracks, key=lambda k: -(k.box[2] - k.box[0]) * (k.box[3] - k.box[1])):
            if not free.any():
                break
            ious = _iou(tr.box, blobs[:, :4])
            ious[~free] = 0.0
            j = int(np.argmax(ious))
            if ious[j] < 0.2:
                continue
            free[j] = False
            self._observe(tr, t, blobs[j])
        for j in np.flatnonzero(free):
            tr = _Track(blobs[j, :4].copy(), t)
            self._observe(tr, t, blobs[j])
            self._tracks.append(tr)
        self._tracks = [tr for tr in self._tracks if t - tr.last_t <= MAX_MISSING_S]
        best, box = 0.0, None
        for tr in self._tracks:
            if tr.down_since is not None and tr.last_t == t and t - tr.down_since >= best:
                best, box = t - tr.down_since, tr.box.copy()
        self._grays.append((t, gray))
        return best, box

    def _moved(self, tr: _Track, box: np.ndarray) -> bool:
        """Did the picture change inside ``box`` and the track's box of ``MOTION_S`` ago (see the module doc)?"""
        if not self._grays or not tr.shapes:
            return False
        t0, before = self._grays[0]
        old = next((s[4] for s in tr.shapes if s[0] >= t0 - 1e-6), tr.shapes[-1][4])
        x0, y0 = int(min(box[0], old[0])), int(min(box[1], old[1]))
        x1, y1 = int(np.ceil(max(box[2], old[2]))), int(np.ceil(max(box[3], old[3])))
        a, b = self._gray[y0:y1, x0:x1], before[y0:y1, x0:x1]
        if not a.size:
            return False
        return float(np.mean(cv2.absdiff(a, b) >= MOTION_DIFF)) >= MIN_MOTION

    def _observe(self, tr: _Track, t: float, blob: np.ndarray) -> None:
        tr.box, tr.last_t = blob[:4].copy(), t
        w, h, area = blob[2] - blob[0], blob[3] - blob[1], blob[4]
        if tr.down_since is None:
            # Standing: over the history before this frame (>= stand_s long) the track was mostly tall.
            # Plain Python medians: a few dozen numbers per track, where numpy's call overhead dominates.
            past = tr.shapes
            if len(past) >= 3 and past[-1][0] - past[0][0] >= self.stand_s:
                ratios = sorted(s[2] / max(s[1], 1.0) for s in past)
                if ratios[len(ratios) // 2] >= self.stand_ratio:
                    heights = sorted(s[2] for s in past)
                    areas = sorted(s[3] for s in past)
                    tr.standing = (float(heights[len(past) // 2]), float(areas[len(past) // 2]))
        lying = tr.down_since is None and tr.standing is not None and self._lying(w, h, area, tr.standing)
        if lying and not self._moved(tr, blob[:4]):
            lying = False  # turned wide with nothing moving there: a ghost being absorbed, not a fall
        tr.shapes.append((t, float(w), float(h), float(area), blob[:4].copy()))
        while tr.shapes and tr.shapes[0][0] < t - HISTORY_S:
            tr.shapes.popleft()
        if tr.down_since is None:
            if lying:
                tr.down_since = t
        elif not self._lying(w, h, area, tr.standing):  # type: ignore[arg-type]
            tr.down_since = None  # got up (or the blob changed into something else)
            tr.shapes.clear()
            tr.standing = None

    def _lying(self, w: float, h: float, area: float, standing: tuple[float, float]) -> bool:
        stand_h, stand_area = standing
        return w >= self.lie_ratio * h and h <= self.drop * stand_h and 0.4 * stand_area <= area <= 1.8 * stand_area
