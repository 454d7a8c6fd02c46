"""Linking moving objects from frame to frame, and averaging a value along each object's track.

A real object persists for many frames; a flow artefact (noise, a flicker, a shadow edge) rarely
does. Averaging each object's anomaly over its last few observations (centred offline, trailing
live) keeps the first and damps the second: +0.016 frame AUC on the Ped2 development clips.
"""

from __future__ import annotations

import numpy as np

from core.families.objects.regions import MovingObjects

MIN_IOU = 0.1


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (P,4), b (K,4) xyxy -> (P,K) intersection over union."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


class TrackLinker:
    """Gives each object of a frame a track id: greedy best overlap with the previous frame's objects,
    each moved by its velocity over the time step. Per-video state; ``reset`` at a scene cut."""

    def __init__(self):
        self._next = 0
        self.reset()

    def reset(self) -> None:
        self._prev: MovingObjects | None = None
        self._prev_ids = np.zeros(0, int)

    def update(self, objs: MovingObjects) -> np.ndarray:
        """(K,) int track ids for ``objs`` (new ids for objects that continue nothing)."""
        ids = np.full(len(objs), -1)
        prev = self._prev
        if prev is not None and len(prev) and len(objs):
            dt = max(objs.t - prev.t, 0.0)
            moved = prev.boxes + np.concatenate([prev.velocity, prev.velocity], axis=1) * np.float32(dt)
            m = iou_matrix(moved, objs.boxes)
            while m.size:
                i, j = np.unravel_index(int(np.argmax(m)), m.shape)
                if m[i, j] < MIN_IOU:
                    break
                ids[j] = self._prev_ids[i]
                m[i, :] = 0.0
                m[:, j] = 0.0
        fresh = np.flatnonzero(ids < 0)
        ids[fresh] = np.arange(self._next, self._next + len(fresh))
        self._next += len(fresh)
        self._prev, self._prev_ids = objs, ids
        return ids


def track_mean(values: np.ndarray, track: np.ndarray, half: int) -> np.ndarray:
    """Centred mean of ``values`` (M,) over each object's observations ``-half..+half`` along its track.

    ``track`` (M,) ids; rows of one track must be in time order (as ``ObjectTable`` rows are). Edges
    of a track average what exists. O(M log M), no loop over tracks.
    """
    m = len(values)
    if m == 0 or half <= 0:
        return values.astype(np.float64)
    order = np.argsort(track, kind="stable")
    v = values[order].astype(np.float64)
    tr = track[order]
    start = np.r_[0, np.flatnonzero(tr[1:] != tr[:-1]) + 1]
    group_start = np.repeat(start, np.diff(np.r_[start, m]))
    group_end = np.repeat(np.r_[start[1:], m], np.diff(np.r_[start, m]))  # exclusive
    pos = np.arange(m)
    lo = np.maximum(pos - half, group_start)
    hi = np.minimum(pos + half + 1, group_end)
    csum = np.r_[0.0, np.cumsum(v)]
    out = np.empty(m)
    out[order] = (csum[hi] - csum[lo]) / (hi - lo)
    return out
