"""The fight family's functions: fitting on a subset of labelled videos, loading the shipped head, and the
family's ``build`` / ``fit_labels`` (see the package docstring for the API)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from core.families.base import FitResult
from core.families.fight.fit import DEFAULT_GRID, Grid, build_library, grouped_kfold, select_and_fit
from core.families.fight.head import FightHead, HeadConfig
from core.families.fight.stream import FightScorer
from core.families.movinet.features import MOVINET_FILE

KIND = "fight-head"
SHIPPED_NAME = "fight-movinet"


def _movinet_path() -> Path:
    from core.registry import weight_path

    return weight_path(MOVINET_FILE)


def fight_videos(root: str | Path) -> list:
    """The labelled clips of a fights folder (fight/ and noFight/ subfolders) with source groups from its
    ``videos.txt`` (clips it does not list share one ``unlisted`` group)."""
    from core.dataset import load_labelled

    root = Path(root)
    groups = root / "videos.txt"
    return load_labelled(root, groups_file=groups if groups.is_file() else None)


def _groups(items) -> list[str]:
    return [it.group or f"__video{i}" for i, it in enumerate(items)]


def fit_head(
    items: Sequence, select: bool = True, grid: Grid = DEFAULT_GRID, seed: int = 0, progress=None
) -> FightHead:
    """A calibrated ``FightHead`` fitted on ``items`` (``LabelledVideo``) only. ``select=False`` uses the
    shipped configuration (``SHIPPED_CONFIG``) instead of choosing one by inner CV."""
    import numpy as np

    from core.families.fight.fit import fit_fixed
    from core.sources import open_source

    cfg = shipped_config()
    if not select:
        grid = Grid(
            windows=((cfg.window, cfg.hop),),
            train_views=(cfg.train_views,),
            test_views=(cfg.test_views,),
            deborder=cfg.deborder,
        )
    sources = [open_source(it.path) for it in items]
    library = build_library(sources, _movinet_path(), grid, progress)
    labels = np.array([int(it.label) for it in items])
    if select:
        return select_and_fit(library, labels, _groups(items), grid=grid, seed=seed)
    return fit_fixed(library, labels, _groups(items), np.arange(len(items)), cfg, seed=seed)


def fit_fight_scorer(items: Sequence, select: bool = True, seed: int = 0, progress=None) -> FightScorer:
    """A ``FightScorer`` whose head saw only ``items`` (see the module docstring)."""
    head = fit_head(items, select=select, seed=seed, progress=progress)
    return FightScorer("fight-head (fitted)", "0", "fight head fitted on a subset", _movinet_path(), head)


def shipped_config() -> HeadConfig:
    """The configuration of the shipped head (read from models/fight-movinet.npz)."""
    from core.config import project_models_dir

    return FightHead.load(project_models_dir() / f"{SHIPPED_NAME}.npz").config


def load_fight_scorer(path: str | Path | None = None) -> FightScorer:
    """The shipped head (or the head file at ``path``) as a scorer, without going through the registry."""
    from core.config import project_models_dir

    path = Path(path) if path else project_models_dir() / f"{SHIPPED_NAME}.npz"
    return FightScorer(SHIPPED_NAME, "2", "fight head", _movinet_path(), FightHead.load(path))


def build(spec, resolve) -> FightScorer:
    from core.errors import ModelNotFittedError

    artifact = spec.params.get("artifact")
    if not artifact:
        raise ModelNotFittedError(f"Model '{spec.name}' has no fight head file.")
    head = FightHead.load(resolve(artifact))
    return FightScorer(spec.name, spec.version, spec.description, resolve(MOVINET_FILE), head)


def fit_labels(videos, sources, progress=None, seed: int = 0, folds: int = 5) -> FitResult:
    """Nested selection + calibration on all ``videos``; metrics: grouped ``folds``-fold CV of the whole
    procedure (selection repeated inside every training fold), scored the app's way."""
    import numpy as np

    from core.families.fight.protocol import evaluate
    from core.registry import weight_card_entry

    labels = np.array([int(v.label) for v in videos])
    groups = _groups(videos)
    scale = (lambda lo, hi: lambda f, m: progress(lo + (hi - lo) * f, m)) if progress else (lambda lo, hi: None)
    library = build_library(sources, _movinet_path(), DEFAULT_GRID, scale(0.0, 0.3))
    durations = [s.meta.duration for s in sources]
    splits = grouped_kfold(labels, groups, folds, seed)
    cv = evaluate(library, labels, groups, durations, splits, seed=seed, progress=scale(0.3, 0.85))
    new = cv["heads"]["new"]
    head = select_and_fit(library, labels, groups, grid=DEFAULT_GRID, seed=seed, progress=scale(0.85, 1.0))
    metrics = {
        "n_videos": len(videos),
        "n_abnormal": int(labels.sum()),
        "n_normal": int((labels == 0).sum()),
        "cv_folds": len(splits),
        "cv_grouped": True,
        "cv_auc": new["video_auc"],
        "cv_ap": new["video_ap"],
        "cv_window_false_alarm_rate": new["false_alarm_rate"],
        "cv_window_recall": new["recall"],
        "cv_evaluation": f"grouped {len(splits)}-fold CV by source, nested selection, app-style video score",
    }
    scorer = FightScorer("fight-head", "0", "", _movinet_path(), head)
    return FitResult(
        scorer=scorer,
        kind=KIND,
        params={"config": head.config.to_dict(), "platt": list(head.platt), "seed": seed},
        save_artifact=head.save,
        artifact_suffix=".npz",
        metrics=metrics,
        card_extra={"featurizer": "movinet-a0", "weights": [weight_card_entry(MOVINET_FILE)]},
    )
