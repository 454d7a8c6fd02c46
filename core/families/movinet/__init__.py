"""Heads on MoViNet-A0 clip embeddings, one featurizer shared by four kinds: ``movinet-logistic``,
``movinet-mil``, ``movinet-knn`` (trained) and ``movinet-kinetics`` (zero-shot, built in as
``fight-kinetics``). Modules: ``features`` (the MoViNet stream and its per-video cache), ``heads`` (heads,
streams, scorers), ``mil`` (the torch MIL ranking head), ``fit`` (embedding, cross-validation, fitting)."""

from __future__ import annotations

from functools import partial

from core.families.base import Family

MOVINET_FILE = "movinet_a0_stream_int8.tflite"  # the catalogued weights (models/manifest.json)
FPS = 5.0  # ClipSettings' default analysis rate


def _build_trained(spec, resolve):
    from core.families.movinet.heads import build_trained

    return build_trained(spec, resolve)


def _build_kinetics(spec, resolve):
    from core.families.movinet.heads import build_kinetics

    return build_kinetics(spec, resolve)


def _fit_labels(kind, videos, sources, progress=None, seed=0, folds=5):
    from core.families.movinet.fit import fit_labels

    return fit_labels(kind, videos, sources, progress, seed, folds)


def _fit_knn_normal(sources, scoring, progress):
    from core.families.movinet.fit import fit_knn_normal

    return fit_knn_normal(sources, scoring, progress)


def _trained(kind: str, title: str, description: str, hint: str, **extra) -> Family:
    return Family(
        kind=kind,
        title=title,
        description=description,
        build=_build_trained,
        weights=(MOVINET_FILE,),
        preferred_fps=FPS,
        fit_labels=partial(_fit_labels, kind),
        label_hint=hint,
        evaluate_by_default=("videos",),
        **extra,
    )


FAMILIES = [
    _trained(
        "movinet-logistic",
        "MoViNet logistic head",
        "Logistic regression on a video's MoViNet clip features, trained from labelled videos.",
        "logistic head on MoViNet clip embeddings (abnormal + normal videos)",
    ),
    _trained(
        "movinet-mil",
        "MoViNet MIL head",
        "Multiple-instance ranking head (Sultani et al.) on MoViNet window features: finds the abnormal "
        "moment inside videos labelled as a whole.",
        "MIL ranking head on MoViNet clip embeddings (abnormal + normal videos)",
        label_rank=0,  # the Label page's default: it learns where in a video the abnormal moment is
    ),
    _trained(
        "movinet-knn",
        "MoViNet normality (kNN)",
        "Distance of each window's MoViNet embedding to the nearest windows of normal videos.",
        "normality model: kNN on MoViNet embeddings of the videos labelled normal",
        fit_normal=_fit_knn_normal,
    ),
    Family(
        kind="movinet-kinetics",
        title="MoViNet Kinetics classes (zero-shot)",
        description="Summed Kinetics-600 probability of chosen action classes; no training.",
        build=_build_kinetics,
        weights=(MOVINET_FILE,),
        preferred_fps=FPS,
        builtin=(
            {
                "name": "fight-kinetics",
                "version": "1",
                "featurizer": "movinet-a0",
                "description": "Zero-shot fight cue, no training: MoViNet-A0's Kinetics-600 probability of "
                "punching, kicking, wrestling, slapping or headbutting in each 1.6 s window.",
                "summary": "Fighting (punching, kicking, wrestling) seen by a general action model, no training.",
                "params": {
                    "classes": [152, 209, 211, 391, 458, 472, 594],
                    "class_names": [
                        "drop kicking",
                        "headbutting",
                        "high kick",
                        "punching person (boxing)",
                        "side kick",
                        "slapping",
                        "wrestling",
                    ],
                    "settings": {"fps": 5.0, "window": 8, "hop": 4, "resize": "squash"},
                },
            },
        ),
    ),
]
