"""Fitting ``pose-lstm-ae``: track people in normal videos, train the autoencoder on their windows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.config import ScoringConfig
from core.crossval import cv_splits, empty_cv
from core.errors import DataError
from core.families.base import FitResult, ProgressFn, scaled_progress
from core.families.pose.features import POSE_PT, POSE_TFLITE, track_video
from core.families.pose.scorer import FPS, PoseNormality, PoseScorer, score_trackset
from core.metrics import average_precision, roc_auc
from core.registry import ModelSpec, find_file, weight_card_entry, weight_path
from core.sources import VideoSource


def pose_weight_path() -> Path:
    """The pose weights: the int8 TFLite model when it is here (faster on CPU), else yolov8n-pose.pt
    (ultralytics' official weights, downloaded when online)."""
    return find_file(POSE_TFLITE) or weight_path(POSE_PT)


def track_videos(sources: Sequence[VideoSource], weights: Path, progress: ProgressFn | None = None) -> list:
    out = []
    for i, src in enumerate(sources):
        out.append(track_video(src, weights, fps=FPS))
        if progress:
            progress((i + 1) / len(sources), f"pose tracks: {i + 1}/{len(sources)} videos")
    return out


def pose_result(model: PoseNormality, weights: Path, metrics: dict) -> FitResult:
    spec = ModelSpec(name="pose-lstm-ae", kind="pose-lstm-ae", featurizer="pose")
    return FitResult(
        scorer=PoseScorer(spec, weights, model),
        kind="pose-lstm-ae",
        params={"pose_weights": weights.name, "steps": model.steps, "fps": model.fps, "ref": model.ref},
        save_artifact=model.save,
        artifact_suffix=".npz",
        metrics=metrics,
        card_extra={"featurizer": "pose", "weights": [weight_card_entry(weights.name)]},
    )


def fit_normal(sources: Sequence[VideoSource], scoring: ScoringConfig, progress: ProgressFn | None) -> FitResult:
    weights = pose_weight_path()
    tracks = track_videos(sources, weights, scaled_progress(progress, 0.0, 0.8))
    model = PoseNormality.fit(tracks, seed=0, progress=scaled_progress(progress, 0.8, 1.0))
    return pose_result(model, weights, {"videos": len(sources), "ref": model.ref})


def fit_labels(videos, sources, progress: ProgressFn | None = None, seed: int = 0, folds: int = 5) -> FitResult:
    """Pose normality from the label-0 videos; CV scores every held-out video by its highest frame score."""
    labels = np.array([int(v.label) for v in videos])
    counts = {"n_videos": len(videos), "n_abnormal": int(labels.sum()), "n_normal": int((labels == 0).sum())}
    if counts["n_normal"] == 0:
        raise DataError("pose-lstm-ae is a normality model and needs videos labelled normal (0).")
    weights = pose_weight_path()
    tracks = track_videos(sources, weights, scaled_progress(progress, 0.0, 0.7))
    groups = [v.group for v in videos]
    cv = empty_cv(groups)
    splits = cv_splits(labels, groups, folds, seed) if 0 < labels.sum() < len(labels) else None
    if splits:
        oof = np.zeros(len(labels))
        for k, (tr, te) in enumerate(splits):
            normal = [tracks[i] for i in tr if labels[i] == 0]
            model = PoseNormality.fit(normal, seed=seed)
            oof[te] = [float(score_trackset(model, tracks[i]).max(initial=0.0)) for i in te]
            if progress:
                progress(0.7 + 0.2 * (k + 1) / len(splits), f"cross-validation fold {k + 1}/{len(splits)}")
        auc = roc_auc(labels, oof)
        ok = not np.isnan(auc)
        cv.update(
            cv_auc=float(auc) if ok else None,
            cv_ap=float(average_precision(labels, oof)) if ok else None,
            cv_folds=len(splits),
        )
    model = PoseNormality.fit([t for t, y in zip(tracks, labels, strict=True) if y == 0], seed=seed)
    return pose_result(model, weights, counts | cv)
