"""Views of a frame: the picture the fight head sees, and the flips and crops it is trained on.

A view is a pure function BGR uint8 (H,W,3) -> BGR uint8 (h,w,3), applied before MoViNet's 172x172
squash. ``full`` is what the app has always fed MoViNet; the others are training augmentations and,
when they pay off inside the training folds, test-time views whose window scores are averaged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CROP_WIDTH = 0.75  # a crop keeps the full height and this fraction of the width


def _crop(frame: np.ndarray, where: float) -> np.ndarray:
    h, w = frame.shape[:2]
    cw = max(1, int(round(w * CROP_WIDTH)))
    x = int(round((w - cw) * where))
    return frame[:, x : x + cw]


VIEWS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "full": lambda f: f,
    "flip": lambda f: np.ascontiguousarray(f[:, ::-1]),
    "left": lambda f: _crop(f, 0.0),
    "centre": lambda f: _crop(f, 0.5),
    "right": lambda f: _crop(f, 1.0),
}


def check_views(names) -> tuple[str, ...]:
    """Validated tuple of view names (ValueError naming the unknown one)."""
    names = tuple(names)
    for n in names:
        if n not in VIEWS:
            raise ValueError(f"unknown view {n!r}; known: {', '.join(VIEWS)}")
    if not names:
        raise ValueError("at least one view is needed")
    return names
