"""Fitting ``motion-fitted`` on normal footage of one scene."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.config import ScoringConfig
from core.families.base import FitResult, ProgressFn
from core.families.motion.features import MotionFeaturizer
from core.families.motion.scorer import FittedMotion, MotionNormality
from core.registry import ModelSpec
from core.sources import VideoSource

# 256 px rather than the self-referenced scorer's 160 (both DIS flow on a downscaled grey copy): at the
# smaller size the scene model loses small fast objects such as a distant bike (see BENCHMARKS.md).
GRID = (6, 8, 256)


def fit_normal(sources: Sequence[VideoSource], scoring: ScoringConfig, progress: ProgressFn | None) -> FitResult:
    per_video = []
    for i, src in enumerate(sources):
        feat = MotionFeaturizer(*GRID)
        per_video.append(
            np.array([feat.update(f.t, f.image) for f in src.frames(fps=scoring.fps, max_side=scoring.max_side)])
        )
        if progress:
            progress((i + 1) / len(sources), f"Motion features: {i + 1}/{len(sources)} videos")
    model = MotionNormality.fit(per_video, GRID)
    spec = ModelSpec(name="motion-fitted", kind="motion-fitted", featurizer="motion")
    return FitResult(
        scorer=FittedMotion(spec, model),
        kind="motion-fitted",
        params={"rows": GRID[0], "cols": GRID[1], "work_side": GRID[2]},
        save_artifact=model.save,
        artifact_suffix=".npz",
        metrics={"frames": int(sum(len(v) for v in per_video)), "frame_ref": model.frame_ref},
    )
