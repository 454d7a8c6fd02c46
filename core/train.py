"""Fitting scorers on data, and saving them as registered model files.

A *normality fitter* learns from normal footage only: ``fit_normal(kind, sources) -> FitResult``.
Each fitter returns the scorer plus a ``save(directory, name)`` that writes its artifact; ``register``
then writes the model card so the registry (and every page) can load it by name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.config import ScoringConfig
from core.errors import DataError, UnknownModelError
from core.registry import ModelSpec, register_kind, trained_dir, write_card  # noqa: F401 (re-export)
from core.scorers.base import Scorer
from core.sources import VideoSource

ProgressFn = Callable[[float, str], None]


@dataclass
class FitResult:
    scorer: Scorer
    kind: str
    params: dict
    save_artifact: Callable[[Path], None]  # writes the artifact to the given path
    artifact_suffix: str
    metrics: dict = field(default_factory=dict)


Fitter = Callable[[Sequence[VideoSource], ScoringConfig, ProgressFn | None], FitResult]
FITTERS: dict[str, Fitter] = {}


def register_fitter(kind: str) -> Callable[[Fitter], Fitter]:
    def deco(fn: Fitter) -> Fitter:
        FITTERS[kind] = fn
        return fn

    return deco


def fit_normal(
    kind: str, sources: Sequence[VideoSource], scoring: ScoringConfig | None = None, progress: ProgressFn | None = None
) -> FitResult:
    if kind not in FITTERS:
        raise UnknownModelError(f"No normality fitter for '{kind}'. Known: {', '.join(sorted(FITTERS))}.")
    if not sources:
        raise DataError("No normal videos to fit on.")
    return FITTERS[kind](sources, scoring or ScoringConfig(), progress)


def register(
    result: FitResult,
    name: str,
    description: str,
    sources: Sequence[VideoSource],
    directory: Path | None = None,
    extra: dict | None = None,
) -> Path:
    """Save the artifact and its model card; returns the card path. The model is then loadable by name."""
    directory = directory or trained_dir()
    directory.mkdir(parents=True, exist_ok=True)
    artifact = f"{name}{result.artifact_suffix}"
    result.save_artifact(directory / artifact)
    digest = hashlib.sha256((directory / artifact).read_bytes()).hexdigest()
    card = {
        "name": name,
        "kind": result.kind,
        "version": datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
        "description": description,
        "featurizer": result.kind.split("-")[0],
        "weights": [],
        "params": {**result.params, "artifact": artifact, "artifact_sha256": digest},
        "metrics": result.metrics,
        "trained_on": {
            "videos": [{"name": s.meta.name, "sha256": s.sha256} for s in sources],
            "count": len(sources),
        },
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    json.dumps(card)  # fail before writing if anything is not serialisable
    return write_card(card, directory)


# --- motion -----------------------------------------------------------------------------------------
@register_fitter("motion-fitted")
def _fit_motion(sources, scoring, progress) -> FitResult:
    from core.features.motion import MotionFeaturizer
    from core.scorers.motion import FittedMotion, MotionNormality

    grid = (6, 8, 192)
    per_video = []
    for i, src in enumerate(sources):
        feat = MotionFeaturizer(*grid)
        per_video.append(
            np.array([feat.update(f.t, f.image) for f in src.frames(fps=scoring.fps, max_side=scoring.max_side)])
        )
        if progress:
            progress((i + 1) / len(sources), f"Motion features: {i + 1}/{len(sources)} videos")
    model = MotionNormality.fit(per_video, grid)
    spec = ModelSpec(name="motion-fitted", kind="motion-fitted", featurizer="motion")
    return FitResult(
        scorer=FittedMotion(spec, model),
        kind="motion-fitted",
        params={"rows": grid[0], "cols": grid[1], "work_side": grid[2]},
        save_artifact=model.save,
        artifact_suffix=".npz",
        metrics={"frames": int(sum(len(v) for v in per_video)), "frame_ref": model.frame_ref},
    )
