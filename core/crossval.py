"""Cross-validation splits over labelled videos, shared by every family that fits from labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def cv_splits(labels: np.ndarray, groups: Sequence[str | None], folds: int, seed: int) -> list | None:
    """Stratified k-fold splits, grouped when any group is given (videos without one form their own
    group). None when there are too few videos (fewer than 2 per class / 2 groups per class)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels = np.asarray(labels, int)
    grouped = any(g for g in groups)
    if grouped:
        gids = [g if g else f"__video{i}" for i, g in enumerate(groups)]
        per_class = [len({g for g, y in zip(gids, labels, strict=True) if y == c}) for c in (0, 1)]
    else:
        gids = list(range(len(labels)))
        per_class = [int((labels == 0).sum()), int((labels == 1).sum())]
    k = min(folds, *per_class)
    if k < 2:
        return None
    cls = StratifiedGroupKFold if grouped else StratifiedKFold
    splitter = cls(k, shuffle=True, random_state=seed)
    splits = list(splitter.split(np.zeros(len(labels)), labels, gids if grouped else None))
    # A fold without one class cannot train a supervised head; fall back to fewer folds.
    if any(len(set(labels[tr])) < 2 for tr, _ in splits):
        return cv_splits(labels, groups, folds - 1, seed) if folds > 2 else None
    return splits


def empty_cv(groups: Sequence[str | None]) -> dict:
    """The metrics of a cross-validation that could not run (too few videos per class or group)."""
    return {"cv_auc": None, "cv_ap": None, "cv_auc_mean_fold": None, "cv_folds": 0, "cv_grouped": any(groups)}
