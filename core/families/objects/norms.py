"""What the usual moving object looks like, per part of the image, and how far an object is from it.

One ``ObjectNorms`` serves both references: fitted on the objects of the same video (or of a trailing
live window) it is the self-referenced baseline; fitted on a scene's normal footage it is the scene
model. Objects are described by two numbers, each compared on a log scale with a robust z-score
(median and MAD) of the objects in the same cell of a ``rows x cols`` grid of the image:

- *speed*: the object's 90th-percentile flow speed (px/s): a bike among walkers;
- *size*: the square root of its moving area divided by the typical size of objects at its image row
  (perspective: things near the bottom of a tilted camera's picture look bigger): a cart, a car.

Perspective for speed: a scene model compares each object with the objects of its own cell (a far
walker with far walkers; a cell with too few objects borrows its row band's statistics, then the whole
image's). A single video is too short for per-cell statistics (a bike crossing most of a clip would
become its cell's "usual"), so the self-referenced baseline uses one cell and divides each speed by
the square root of the speed expected at its row relative to the video's median (a line through the
row bands' medians, ``speed_power`` 0.5). The square root is a shrinkage: a row trend estimated from
the same video is confounded with the anomalies in it (full division cost 0.05 frame AUC on the Ped2
development clips, the square root 0.007), while a strong-perspective camera (speeds 3x from the far
to the near rows, as in vtest.avi) still has most of its trend removed. The
direction of motion is kept per cell as an 8-bin histogram: an object whose direction the cell has
(almost) never seen is "moving against the flow".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.families.objects.regions import MovingObjects

MIN_CELL = 30  # objects a cell needs for statistics of its own
MIN_BAND = 30
DIR_BINS = 8
# MAD floors on the log scale: below them a video of identical walkers would make every jitter "strange".
FLOOR_LOG_SPEED = 0.20
# Size has a higher floor: walkers merging into one region (2-3 people side by side) were the top of the
# normal footage's values at 0.20; at 0.35 half of the development clips' anomalous frames pass the
# normal 99th percentile instead of 6 %, at the same frame AUC.
FLOOR_LOG_SIZE = 0.35


@dataclass(frozen=True)
class ObjectTable:
    """Objects of many frames, flattened in time order. Shapes (M,): frame (int), cx, bottom (px),
    speed (px/s), size (px, sqrt of area), vx, vy (px/s), track (int id; each object its own when the
    objects were not linked); ``width``, ``height``: the frame size in px."""

    frame: np.ndarray
    cx: np.ndarray
    bottom: np.ndarray
    speed: np.ndarray
    size: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    width: float
    height: float
    track: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @classmethod
    def from_frames(
        cls, frames: list[MovingObjects], width: float, height: float, tracks: list[np.ndarray] | None = None
    ) -> ObjectTable:
        idx = [np.full(len(o), i) for i, o in enumerate(frames)]
        cat = (lambda xs: np.concatenate(xs).astype(np.float64)) if frames else (lambda xs: np.zeros(0))
        boxes = np.concatenate([o.boxes for o in frames]) if frames else np.zeros((0, 4))
        vel = np.concatenate([o.velocity for o in frames]) if frames else np.zeros((0, 2))
        return cls(
            frame=np.concatenate(idx).astype(int) if frames else np.zeros(0, int),
            cx=(boxes[:, 0] + boxes[:, 2]).astype(np.float64) / 2,
            bottom=boxes[:, 3].astype(np.float64),
            speed=cat([o.peak for o in frames]),
            size=np.sqrt(cat([o.area for o in frames])),
            vx=vel[:, 0].astype(np.float64),
            vy=vel[:, 1].astype(np.float64),
            width=float(width),
            height=float(height),
            track=np.concatenate(tracks).astype(int) if tracks else None,
        )


def _robust(v: np.ndarray, floor: float) -> tuple[float, float]:
    med = float(np.median(v))
    return med, max(float(np.median(np.abs(v - med))) * 1.4826, floor)


def row_line(bottom: np.ndarray, value: np.ndarray, height: float) -> np.ndarray:
    """A line value ~ slope * row + intercept through row-band medians (8 bands, slope >= 0): (2,)."""
    if len(value) < 2 * MIN_BAND:
        return np.array([0.0, float(np.median(value)) if len(value) else 1.0])
    edges = np.quantile(bottom, np.linspace(0, 1, 9))
    xs, ys, ws = [], [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (bottom >= lo) & (bottom <= hi)
        if m.sum() >= 5:
            xs.append(np.median(bottom[m]))
            ys.append(np.median(value[m]))
            ws.append(m.sum())
    if len(xs) < 2 or np.ptp(xs) < 0.05 * height:
        return np.array([0.0, float(np.median(value))])
    slope, icpt = np.polyfit(xs, ys, 1, w=np.sqrt(ws))
    if slope <= 0:
        return np.array([0.0, float(np.median(value))])
    return np.array([float(slope), float(icpt)])


class ObjectNorms:
    """Robust log statistics of object speed and size per image cell, and direction histograms.

    Arrays: ``speed``/``size`` (rows, cols, 2) [median, MAD] of log values; ``dirs`` (rows, cols, 8)
    direction probabilities; ``size_fit`` (2,) row-size line; ``floor_size`` px; ``speed_fit`` (4,)
    [slope, intercept, median speed, power] of the row-speed line (power 0 = no row correction).
    """

    def __init__(self, speed, size, dirs, size_fit, floor_size, frame_size, speed_fit=(0.0, 1.0, 1.0, 0.0)):
        self.speed, self.size, self.dirs = np.asarray(speed), np.asarray(size), np.asarray(dirs)
        self.size_fit, self.floor_size = np.asarray(size_fit, np.float64), float(floor_size)
        self.speed_fit = np.asarray(speed_fit, np.float64)
        self.frame_size = (float(frame_size[0]), float(frame_size[1]))  # (width, height) px
        self.rows, self.cols = self.speed.shape[:2]

    # --- geometry ---------------------------------------------------------------------------------------
    def _cells(self, cx: np.ndarray, bottom: np.ndarray, width: float, height: float):
        r = np.clip((bottom / max(height, 1.0) * self.rows).astype(int), 0, self.rows - 1)
        c = np.clip((cx / max(width, 1.0) * self.cols).astype(int), 0, self.cols - 1)
        return r, c

    def rel_size(self, size: np.ndarray, bottom: np.ndarray, height: float) -> np.ndarray:
        """Object size relative to the typical size at its row (rows rescaled to the fitted frame)."""
        b = bottom * self.frame_size[1] / max(height, 1.0)
        s = size * self.frame_size[1] / max(height, 1.0)
        return s / np.maximum(self.size_fit[0] * b + self.size_fit[1], self.floor_size)

    def rel_speed(self, speed: np.ndarray, bottom: np.ndarray, height: float) -> np.ndarray:
        """Speed divided by (expected speed at its row / median) ** power; identity when power is 0."""
        slope, icpt, med, power = self.speed_fit
        if power == 0:
            return speed
        b = bottom * self.frame_size[1] / max(height, 1.0)
        expected = np.maximum(slope * b + icpt, 0.25 * med) / max(med, 1e-9)
        return speed / expected**power

    # --- fitting ----------------------------------------------------------------------------------------
    @classmethod
    def fit(cls, table: ObjectTable, rows: int = 3, cols: int = 4, speed_power: float = 0.0) -> ObjectNorms:
        """Statistics of the objects in ``table``; cells with few objects borrow their band's or the image's.

        ``speed_power`` > 0 divides speeds by the row-speed trend to that power before the statistics.
        """
        n = len(table)
        size_fit = row_line(table.bottom, table.size, table.height) if n else np.array([0.0, 1.0])
        floor_size = float(np.percentile(table.size, 10)) if n else 1.0
        line = row_line(table.bottom, table.speed, table.height) if n else np.array([0.0, 1.0])
        med_speed = float(np.median(table.speed)) if n else 1.0
        norms = cls(
            np.zeros((rows, cols, 2)),
            np.zeros((rows, cols, 2)),
            np.full((rows, cols, DIR_BINS), 1.0 / DIR_BINS),
            size_fit,
            max(floor_size, 1.0),
            (table.width, table.height),
            (line[0], line[1], med_speed, speed_power if n else 0.0),
        )
        if n == 0:
            norms.speed[..., 1] = norms.size[..., 1] = 1.0
            norms.speed[..., 0] = np.log(1.0)
            return norms
        ls = np.log(norms.rel_speed(table.speed, table.bottom, table.height) + 1e-6)
        lz = np.log(norms.rel_size(table.size, table.bottom, table.height) + 1e-6)
        ang = _dir_bin(table.vx, table.vy)
        r, c = norms._cells(table.cx, table.bottom, table.width, table.height)
        g_speed, g_size = _robust(ls, FLOOR_LOG_SPEED), _robust(lz, FLOOR_LOG_SIZE)
        g_dirs = _dir_hist(ang)
        for i in range(rows):
            band = r == i
            b_speed = _robust(ls[band], FLOOR_LOG_SPEED) if band.sum() >= MIN_BAND else g_speed
            b_size = _robust(lz[band], FLOOR_LOG_SIZE) if band.sum() >= MIN_BAND else g_size
            b_dirs = _dir_hist(ang[band]) if band.sum() >= MIN_BAND else g_dirs
            for j in range(cols):
                m = band & (c == j)
                enough = m.sum() >= MIN_CELL
                norms.speed[i, j] = _robust(ls[m], FLOOR_LOG_SPEED) if enough else b_speed
                norms.size[i, j] = _robust(lz[m], FLOOR_LOG_SIZE) if enough else b_size
                norms.dirs[i, j] = _dir_hist(ang[m]) if enough else b_dirs
        return norms

    # --- scoring ----------------------------------------------------------------------------------------
    def z(self, table: ObjectTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per object (M,): speed z, size z (robust SDs above the cell's usual, >= 0) and direction rarity
        (-log10 of the cell's probability of that direction, 0..~3)."""
        if len(table) == 0:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        r, c = self._cells(table.cx, table.bottom, table.width, table.height)
        speed = self.rel_speed(table.speed, table.bottom, table.height)
        sp = (np.log(speed + 1e-6) - self.speed[r, c, 0]) / self.speed[r, c, 1]
        rel = self.rel_size(table.size, table.bottom, table.height)
        sz = (np.log(rel + 1e-6) - self.size[r, c, 0]) / self.size[r, c, 1]
        p = self.dirs[r, c, _dir_bin(table.vx, table.vy)]
        return np.maximum(sp, 0.0), np.maximum(sz, 0.0), -np.log10(np.maximum(p, 1e-3))

    # --- persistence ------------------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "speed": self.speed,
            "size": self.size,
            "dirs": self.dirs,
            "size_fit": self.size_fit,
            "floor_size": np.array(self.floor_size),
            "frame_size": np.array(self.frame_size),
            "speed_fit": self.speed_fit,
        }

    @classmethod
    def from_arrays(cls, a) -> ObjectNorms:
        return cls(
            a["speed"],
            a["size"],
            a["dirs"],
            a["size_fit"],
            float(a["floor_size"]),
            tuple(a["frame_size"]),
            a["speed_fit"],
        )


def _dir_bin(vx: np.ndarray, vy: np.ndarray) -> np.ndarray:
    return (np.floor((np.arctan2(vy, vx) + np.pi) / (2 * np.pi) * DIR_BINS).astype(int)) % DIR_BINS


def _dir_hist(bins: np.ndarray) -> np.ndarray:
    # Add-one smoothing: a direction seen once in a cell is rare, never impossible.
    h = np.bincount(bins, minlength=DIR_BINS).astype(np.float64) + 1.0
    return h / h.sum()
