"""What a model family is: one descriptor, registered once, that the registry, training, evaluation, the
Label page and the CLI iterate over. No code outside a family's own package branches on its kind.

A family lives in one package ``core/families/<package>/`` (or in a folder named by the families-path
setting) with its inference stream and its fitting code side by side; the package's ``__init__`` exposes
``FAMILIES: list[Family]`` (one package may define several kinds that share a featurizer, e.g. the MoViNet
heads).

Contract (other packages code against these names; add optional fields, do not rename or remove):
- ``build(spec, resolve) -> Scorer``: ``spec`` is the ``core.registry.ModelSpec`` of a built-in or trained
  model of this kind; ``resolve(filename) -> Path`` finds (or downloads) a weight or artifact file.
- ``fit_normal(sources, scoring, progress) -> FitResult``: learn from normal footage only (optional).
- ``fit_labels(videos, sources, progress, seed, folds) -> FitResult``: learn from weak video-level labels
  (``core.dataset.LabelledVideo``), with cross-validated metrics in ``FitResult.metrics`` (optional).
- ``builtin``: model specs (manifest-style dicts: name, version, description, weights, params) that the
  family ships without training, e.g. ``{"name": "motion"}``. ``kind`` defaults to the family's; weight
  files default to ``weights`` and take their sha256 and URL from models/manifest.json's catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.config import ScoringConfig
    from core.registry import ModelSpec
    from core.scorers.base import Scorer
    from core.sources import VideoSource

ProgressFn = Callable[[float, str], None]  # (fraction 0..1, message)
Resolve = Callable[[str], Path]


@dataclass
class FitResult:
    """A fitted model before it is saved: the scorer, and how to write its artifact beside a model card."""

    scorer: Scorer
    kind: str
    params: dict
    save_artifact: Callable[[Path], None]  # writes the artifact to the given path
    artifact_suffix: str
    metrics: dict = field(default_factory=dict)
    card_extra: dict = field(default_factory=dict)  # e.g. the weight files the model needs at run time


@dataclass(frozen=True)
class Family:
    """One kind of model. ``kind`` is the ``kind`` field of manifest entries and model cards."""

    kind: str
    title: str  # a few words for pickers: "Motion (self-referenced)"
    description: str  # what it finds, one or two sentences a user understands
    build: Callable[[ModelSpec, Resolve], Scorer]
    weights: tuple[str, ...] = ()  # catalogued weight files (models/manifest.json "weights") it needs to run
    weight_choices: tuple[tuple[str, ...], ...] = ()  # more files it needs, each as alternatives (any one will do)
    preferred_fps: float | None = None  # analysis fps cap (None = any)
    builtin: tuple[dict[str, Any], ...] = ()
    fit_normal: Callable[[Sequence[VideoSource], ScoringConfig, ProgressFn | None], FitResult] | None = None
    fit_labels: Callable[..., FitResult] | None = None
    label_hint: str = ""  # shown on the Label page's trainer when fit_labels is set
    label_rank: int = 100  # order in the Label page's trainer, lowest first (then discovery order)
    # Which ``python -m core evaluate`` levels run this kind when no --model is named: "frames" (fitted on
    # the normal footage, or the built-in model of the same name) and/or "videos" (cross-validated).
    evaluate_by_default: tuple[str, ...] = ()
    # what a spec of this kind will leave out here though it can run ("" : nothing), said before it runs
    limits: Callable[[ModelSpec], str] | None = None
    # the one-line summary as it holds here, given ``limits``' text ("" : it runs whole); None: the spec's summary
    summary: Callable[[ModelSpec, str], str] | None = None


def scaled_progress(progress: ProgressFn | None, lo: float, hi: float, label: str = "") -> ProgressFn | None:
    """``progress`` seen through a sub-range: fraction f of this step reports lo + (hi - lo) * f."""
    if progress is None:
        return None
    return lambda f, msg: progress(lo + (hi - lo) * min(max(f, 0.0), 1.0), msg or label)
