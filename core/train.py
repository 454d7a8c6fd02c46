"""Fitting models on data and saving them as registered model files, for every family alike.

Two ways to train, one way to save:
- ``fit_normal(kind, sources)`` learns from normal footage only (families with ``fit_normal``);
- ``train_from_labels(kind, videos, name)`` learns from video-level labels (``core.dataset.LabelledVideo``),
  cross-validates (grouped when groups are given) and registers the model (families with ``fit_labels``);
  the Label page calls it.
``register`` saves the artifact beside a model card (featurizer, params, training-video hashes, metrics,
date), so the registry (and every page) can load the model by name. The fitting itself lives in each
family's package (``core/families/<package>/``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core import families
from core.config import ScoringConfig
from core.dataset import LabelledVideo
from core.errors import DataError, UnknownModelError
from core.families.base import FitResult, ProgressFn
from core.registry import trained_dir, write_card
from core.sources import VideoSource, open_source


@dataclass
class TrainReport:
    """What ``train_from_labels`` produced. metrics: cv_auc (None when too few videos), n_videos,
    n_abnormal, n_normal, cv_folds, cv_grouped, ..."""

    name: str
    card_path: Path
    metrics: dict


def normal_kinds() -> list[str]:
    """Kinds that can be fitted on normal footage only."""
    return [k for k, f in families.all_families().items() if f.fit_normal is not None]


def label_kinds() -> list[str]:
    """Kinds that can be trained from video-level labels."""
    return [k for k, f in families.all_families().items() if f.fit_labels is not None]


def fit_normal(
    kind: str, sources: Sequence[VideoSource], scoring: ScoringConfig | None = None, progress: ProgressFn | None = None
) -> FitResult:
    family = families.get(kind)
    if family is None or family.fit_normal is None:
        raise UnknownModelError(f"No normality fitter for '{kind}'. Known: {', '.join(sorted(normal_kinds()))}.")
    if not sources:
        raise DataError("No normal videos to fit on.")
    return family.fit_normal(sources, scoring or ScoringConfig(), progress)


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
        **result.card_extra,
        **(extra or {}),
    }
    json.dumps(card)  # fail before writing if anything is not serialisable
    return write_card(card, directory)


def _trained_on(items: list[LabelledVideo], sources: Sequence[VideoSource]) -> dict:
    return {
        "videos": [
            {"name": s.meta.name, "sha256": s.sha256, "label": it.label, "category": it.category, "group": it.group}
            for it, s in zip(items, sources, strict=True)
        ],
        "count": len(items),
    }


def train_from_labels(
    kind: str,
    items: list[LabelledVideo],
    name: str,
    description: str = "",
    progress: ProgressFn | None = None,
    seed: int = 0,
    folds: int = 5,
    directory: Path | None = None,
) -> TrainReport:
    """Cross-validate ``kind`` on the labelled videos, fit it on all of them, save and register it.

    Normality kinds (movinet-knn, pose-lstm-ae) fit on the label-0 videos only; the CV still scores
    both classes. Raises DataError / UnknownModelError for bad input; writes nothing then.
    """
    family = families.get(kind)
    if family is None or family.fit_labels is None:
        raise UnknownModelError(f"Cannot train '{kind}' from labels. Trainable kinds: {', '.join(label_kinds())}.")
    if not items:
        raise DataError("No labelled videos to train on.")
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise DataError(f"'{name}' is not a usable model name (no slashes, not empty).")
    sources = [open_source(it.path) for it in items]
    result = family.fit_labels(items, sources, progress, seed, folds)
    card = register(
        result,
        name,
        description or f"{kind} trained on {len(items)} labelled videos",
        sources,
        directory,
        extra={"trained_on": _trained_on(items, sources)},
    )
    if progress:
        progress(1.0, f"saved {name}")
    return TrainReport(name, card, result.metrics)
