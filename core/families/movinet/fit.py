"""Fitting the MoViNet heads: embeddings cached per video, cross-validated heads from video labels, and
the kNN normality head from normal footage."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.config import ScoringConfig
from core.crossval import cv_splits, empty_cv
from core.errors import DataError
from core.families.base import FitResult, ProgressFn, scaled_progress
from core.families.movinet.features import MOVINET_FILE, ClipSettings, MovinetModel, embed_video
from core.families.movinet.heads import HEADS, ClipScorer, KnnNormality
from core.metrics import average_precision, roc_auc
from core.registry import ModelSpec, weight_card_entry, weight_path
from core.sources import VideoSource


def embed_videos(sources: Sequence[VideoSource], progress: ProgressFn | None = None, settings=None) -> list:
    """ClipEmbeddings per source (cached under $VIGIL_DATA_DIR/features by sha256 + settings)."""
    settings = settings or ClipSettings()
    weights = weight_path(MOVINET_FILE)
    model = MovinetModel(weights)  # one interpreter for this (single) thread
    out = []
    for i, src in enumerate(sources):
        out.append(embed_video(src, weights, settings, model))
        if progress:
            progress((i + 1) / len(sources), f"MoViNet features: {i + 1}/{len(sources)} videos")
    return out


def cross_validate_head(head_cls, embs: list, labels, groups, folds: int = 5, seed: int = 0) -> dict:
    """Out-of-fold video scores for one head. Returns {cv_auc, cv_ap, cv_auc_mean_fold, cv_folds, cv_grouped,
    oof_scores}; cv_auc None when there are too few videos or the test folds hold one class only."""
    labels = np.asarray(labels, int)
    splits = cv_splits(labels, groups, folds, seed)
    out = empty_cv(groups)
    if splits is None:
        return out
    oof = np.zeros(len(labels))
    fold_aucs = []
    for tr, te in splits:
        train_embs, train_y = [embs[i] for i in tr], labels[tr]
        head = head_cls.fit(train_embs, train_y, seed=seed)  # normality heads keep only label-0 videos
        oof[te] = [head.video_score(embs[i]) for i in te]
        a = roc_auc(labels[te], oof[te])
        if not np.isnan(a):
            fold_aucs.append(a)
    auc = roc_auc(labels, oof)
    out.update(
        cv_auc=None if np.isnan(auc) else float(auc),
        cv_ap=None if np.isnan(auc) else float(average_precision(labels, oof)),
        cv_auc_mean_fold=float(np.mean(fold_aucs)) if fold_aucs else None,
        cv_folds=len(splits),
        oof_scores=oof.tolist(),
    )
    return out


def _result(kind: str, head, settings: ClipSettings, params: dict, metrics: dict) -> FitResult:
    spec = ModelSpec(name=kind, kind=kind, featurizer="movinet-a0")
    return FitResult(
        scorer=ClipScorer(spec, weight_path(MOVINET_FILE), settings, head),
        kind=kind,
        params={"settings": settings.to_dict(), **head.params(), **params},
        save_artifact=lambda p: head.save(p, settings),
        artifact_suffix=".npz",
        metrics=metrics,
        card_extra={"featurizer": "movinet-a0", "weights": [weight_card_entry(MOVINET_FILE)]},
    )


def fit_labels(kind: str, videos, sources, progress: ProgressFn | None, seed: int, folds: int) -> FitResult:
    """Cross-validate the ``kind`` head on the labelled videos, then fit it on all of them."""
    head_cls = HEADS[kind]
    labels = np.array([int(v.label) for v in videos])
    counts = {"n_videos": len(videos), "n_abnormal": int(labels.sum()), "n_normal": int((labels == 0).sum())}
    if head_cls.needs == "labels" and (counts["n_abnormal"] == 0 or counts["n_normal"] == 0):
        raise DataError(f"'{kind}' needs both abnormal and normal videos; got {counts}.")
    if head_cls.needs == "normal" and counts["n_normal"] == 0:
        raise DataError(f"'{kind}' is a normality model and needs videos labelled normal (0).")
    settings = ClipSettings()
    embs = embed_videos(sources, scaled_progress(progress, 0.0, 0.8), settings)
    if progress:
        progress(0.8, "cross-validating")
    cv = cross_validate_head(head_cls, embs, labels, [v.group for v in videos], folds, seed)
    cv.pop("oof_scores", None)
    if progress:
        progress(0.9, "fitting on all videos")
    head = head_cls.fit(embs, labels, seed=seed)
    train_scores = np.array([head.video_score(e) for e in embs])
    train_auc = roc_auc(labels, train_scores) if 0 < labels.sum() < len(labels) else float("nan")
    metrics = {**counts, **cv, "train_auc": None if np.isnan(train_auc) else float(train_auc)}
    return _result(kind, head, settings, {"seed": seed}, metrics)


def fit_knn_normal(sources: Sequence[VideoSource], scoring: ScoringConfig, progress: ProgressFn | None) -> FitResult:
    settings = ClipSettings()
    embs = embed_videos(sources, scaled_progress(progress, 0.0, 0.95), settings)
    head = KnnNormality.fit(embs, seed=0)
    return _result("movinet-knn", head, settings, {}, {"windows": int(sum(len(e) for e in embs))})
