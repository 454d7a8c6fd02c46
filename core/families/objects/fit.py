"""Fitting the objects cue on a scene's normal footage (``objects-fitted``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.errors import DataError
from core.events import smooth
from core.families.base import FitResult, ProgressFn
from core.families.objects.norms import ObjectNorms, ObjectTable
from core.families.objects.regions import MovingObjects, RegionExtractor
from core.families.objects.stream import (
    MIN_SHOT_OBJECTS,
    SMOOTH_S,
    SPEED_POWER_SELF,
    TRACK_HALF,
    FittedScene,
    ObjectsScorer,
    frame_values,
    scored_objects,
)
from core.families.objects.tracks import TrackLinker, track_mean
from core.scorers.base import ModelInfo

# A scene model compares objects cell by cell (perspective: far with far). 4x6 cells and size weight
# 0.5 were chosen on the Ped2 development clips (01,03,05,07,09,11); 1x1 and 3x4 were within 0.005.
GRID = (4, 6)
W_SIZE = 0.5
REF_Q = 99.0  # calibration: 0.5 = this percentile of the normal footage's frame values


def _rescaled(objs: MovingObjects, sx: float, sy: float) -> MovingObjects:
    """Objects of a video whose frame size differs from the scene's first video, in that video's px."""
    scale = np.array([sx, sy, sx, sy], np.float32)
    return MovingObjects(
        objs.t,
        objs.boxes * scale,
        objs.velocity * np.array([sx, sy], np.float32),
        objs.area * sx * sy,
        objs.peak * np.float32(np.sqrt(sx * sy)),
    )


def fit_scene(videos: Sequence[tuple[list[MovingObjects], list[float]]], size: tuple[float, float]) -> FittedScene:
    """videos: per normal video its per-frame objects and times (s), in px of frames of ``size`` (w, h).

    The calibration reference is measured the way the stream scores (track means, frame smoothing).
    """
    frames = [o for objs, _ in videos for o in objs]
    table = ObjectTable.from_frames(frames, *size)
    if len(table) < 50:
        raise DataError(
            f"The normal footage holds only {len(table)} moving objects; the objects model needs at least 50 "
            "(more or longer videos of the scene with people moving)."
        )
    scene = FittedScene(ObjectNorms.fit(table, *GRID), 1.0, W_SIZE)
    per_frame = []
    for objs, times in videos:
        linker = TrackLinker()
        tab = ObjectTable.from_frames(objs, *size, [linker.update(o) for o in objs])
        own = ObjectNorms.fit(tab, 1, 1, SPEED_POWER_SELF) if len(tab) >= MIN_SHOT_OBJECTS else None
        v, _, _ = scored_objects(tab, scene, own)
        v = track_mean(v, tab.track, TRACK_HALF)  # type: ignore[arg-type]
        fv, _ = frame_values(v, tab.frame, len(objs))
        per_frame.append(smooth(fv, np.asarray(times, np.float64), SMOOTH_S) if len(objs) > 1 else fv)
    allv = np.concatenate(per_frame)
    scene.ref = max(float(np.percentile(allv, REF_Q)), 0.5)
    return scene


def fit_normal(sources, scoring, progress: ProgressFn | None = None) -> FitResult:
    """Family hook: read every normal source at the analysis fps, fit the scene's object norms."""
    if not sources:
        raise DataError("No normal videos to fit on.")
    videos: list[tuple[list[MovingObjects], list[float]]] = []
    size: tuple[float, float] | None = None
    n_frames = 0
    for i, src in enumerate(sources):
        ex = RegionExtractor()
        objs, times = [], []
        for fr in src.frames(fps=scoring.fps, max_side=scoring.max_side):
            h, w = fr.image.shape[:2]
            o = ex.update(fr.t, fr.image)
            if size is None:
                size = (float(w), float(h))
            if (w, h) != size:
                o = _rescaled(o, size[0] / w, size[1] / h)
            objs.append(o)
            times.append(fr.t)
        videos.append((objs, times))
        n_frames += len(objs)
        if progress:
            progress((i + 1) / len(sources), f"Moving objects: {i + 1}/{len(sources)} videos")
    if size is None:
        raise DataError("The normal videos decoded to no frames.")
    scene = fit_scene(videos, size)
    info = ModelInfo("objects-fitted", "1", "Objects compared with a fitted scene's normal objects.", "objects")
    return FitResult(
        scorer=ObjectsScorer(info, scene),
        kind="objects-fitted",
        params={"grid": list(GRID), "w_size": W_SIZE},
        save_artifact=scene.save,
        artifact_suffix=".npz",
        metrics={"frames": n_frames, "ref": scene.ref},
    )
