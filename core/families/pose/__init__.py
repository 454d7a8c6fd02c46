"""``pose-lstm-ae``: per-person motion normality from tracked skeletons. Modules: ``features`` (YOLO pose
tracking and skeleton features, cached per video), ``lstm_ae`` (the torch autoencoder), ``scorer``
(normality model, stream, scorer), ``fit`` (tracking normal videos and fitting)."""

from __future__ import annotations

from core.families.base import Family
from core.families.pose.features import POSE_PT, POSE_TFLITE


def _build(spec, resolve):
    from core.families.pose.scorer import build_pose

    return build_pose(spec, resolve)


def _fit_normal(sources, scoring, progress):
    from core.families.pose.fit import fit_normal

    return fit_normal(sources, scoring, progress)


def _fit_labels(videos, sources, progress=None, seed=0, folds=5):
    from core.families.pose.fit import fit_labels

    return fit_labels(videos, sources, progress, seed, folds)


FAMILIES = [
    Family(
        kind="pose-lstm-ae",
        title="Pose normality (LSTM autoencoder)",
        description="Tracks people's skeletons and flags movements unlike those in normal footage.",
        build=_build,
        preferred_fps=5.0,
        fit_normal=_fit_normal,
        fit_labels=_fit_labels,
        label_hint="normality model: pose LSTM autoencoder on the videos labelled normal",
        weight_choices=((POSE_TFLITE, POSE_PT),),  # the tracker takes the int8 TFLite or the .pt model
    )
]
