"""Fitting scorers on data, and saving them as registered model files.

Two ways to train, one way to save:
- a *normality fitter* learns from normal footage only: ``fit_normal(kind, sources) -> FitResult``
  (kinds in ``FITTERS``: motion-fitted, movinet-knn, pose-lstm-ae);
- ``train_from_labels(kind, items, name)`` learns from video-level labels (``LabelledVideo``, read from a
  ``video,label[,category][,group]`` CSV by ``read_labels_csv``), cross-validates (grouped when groups are
  given) and registers the model; the Label page calls it.
``register`` saves the artifact beside a model card (featurizer, params, training-video hashes, metrics,
date), so the registry (and every page) can load the model by name.
"""

from __future__ import annotations

import csv
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
    card_extra: dict = field(default_factory=dict)  # e.g. the weight files the model needs at run time


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
        **result.card_extra,
        **(extra or {}),
    }
    json.dumps(card)  # fail before writing if anything is not serialisable
    return write_card(card, directory)


# --- motion -----------------------------------------------------------------------------------------
@register_fitter("motion-fitted")
def _fit_motion(sources, scoring, progress) -> FitResult:
    from core.features.motion import MotionFeaturizer
    from core.scorers.motion import FittedMotion, MotionNormality

    # 256 px rather than the self-referenced scorer's 192: Farneback at 192 px loses small fast objects
    # (a distant bike) in the scene model (Ped2 frame AUC 0.864 -> 0.906 raw; see BENCHMARKS.md).
    grid = (6, 8, 256)
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


# --- weights named in the manifest -------------------------------------------------------------------
def builtin_weight(filename: str):
    """The manifest's catalogue entry (file, sha256, url) for a weight file, so trained cards can name it."""
    from core.config import project_models_dir
    from core.registry import WeightFile

    data = json.loads((project_models_dir() / "manifest.json").read_text())
    for w in data.get("weights", []):
        if w["file"] == filename:
            return WeightFile(w["file"], w.get("sha256"), w.get("url"))
    return WeightFile(filename)


def weight_path(filename: str) -> Path:
    """Local path of a catalogued weight file (downloaded when a URL is known and the network answers)."""
    from core.registry import resolve_weight

    return resolve_weight(builtin_weight(filename))


def _weight_card_entry(filename: str) -> dict:
    w = builtin_weight(filename)
    return {"file": w.file, "sha256": w.sha256, "url": w.url}


# --- labelled videos ---------------------------------------------------------------------------------
LABEL_WORDS = {"1": 1, "abnormal": 1, "0": 0, "normal": 0}


@dataclass
class LabelledVideo:
    """One row of a labels CSV: ``label`` 1 = abnormal, 0 = normal; ``group`` keeps near-duplicates
    (clips cut from one source) in one cross-validation fold."""

    path: Path
    label: int
    category: str | None = None
    group: str | None = None


@dataclass
class TrainReport:
    """What ``train_from_labels`` produced. metrics: cv_auc (None when too few videos), n_videos,
    n_abnormal, n_normal, cv_folds, cv_grouped, ..."""

    name: str
    card_path: Path
    metrics: dict


def read_labels_csv(path: str | Path, root: Path | None = None) -> list[LabelledVideo]:
    """Read ``video,label[,category][,group]``. Relative video paths are taken from ``root`` (default: the
    CSV's folder); with ``root`` given, every video must lie inside it. Raises DataError, naming the line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Labels file not found: {path}")
    base = Path(root).resolve() if root is not None else path.resolve().parent
    items: list[LabelledVideo] = []
    seen: dict[Path, int] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            cols = {c.strip().lower() for c in (reader.fieldnames or []) if c}
            missing = [c for c in ("video", "label") if c not in cols]
            if missing:
                raise DataError(
                    f"{path.name}: missing column(s) {', '.join(missing)}; expected video,label[,category][,group]."
                )
            for line, raw in enumerate(reader, start=2):
                row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
                if not row.get("video"):
                    raise DataError(f"{path.name}:{line}: empty video path.")
                word = row.get("label", "").lower()
                if word not in LABEL_WORDS:
                    raise DataError(
                        f"{path.name}:{line}: unknown label '{row.get('label')}' (use 1/abnormal or 0/normal)."
                    )
                video = Path(row["video"]).expanduser()
                video = (video if video.is_absolute() else base / video).resolve()
                if root is not None and not video.is_relative_to(base):
                    raise DataError(f"{path.name}:{line}: '{row['video']}' is outside the folder {base}.")
                if not video.exists():
                    raise DataError(f"{path.name}:{line}: video not found: {video}")
                if video in seen:
                    raise DataError(f"{path.name}:{line}: '{row['video']}' is already listed on line {seen[video]}.")
                seen[video] = line
                items.append(
                    LabelledVideo(video, LABEL_WORDS[word], row.get("category") or None, row.get("group") or None)
                )
    except UnicodeDecodeError:
        raise DataError(f"{path.name} is not a UTF-8 text CSV.") from None
    except csv.Error as err:
        raise DataError(f"{path.name}: not a valid CSV ({err}).") from None
    if not items:
        raise DataError(f"{path.name} lists no videos.")
    return items


def labelled_from_folders(directory: str | Path) -> list[LabelledVideo]:
    """Class subfolders: a folder named like normal/noFight/nonviolence -> 0, any other folder -> 1."""
    from core.sources import IMAGE_EXTS, VIDEO_EXTS

    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"Folder not found: {directory}")
    items = []
    for sub in sorted(p for p in directory.iterdir() if p.is_dir()):
        key = sub.name.lower().replace("_", "").replace("-", "")
        label = 0 if key in {"0", "normal", "nofight", "nonfight", "nonviolence", "negative"} else 1
        for p in sorted(sub.iterdir()):
            is_frames = p.is_dir() and any(q.suffix.lower() in IMAGE_EXTS for q in p.iterdir())
            if p.suffix.lower() in VIDEO_EXTS or is_frames:
                items.append(LabelledVideo(p.resolve(), label, sub.name))
    if not items:
        raise DataError(f"No class subfolders with videos in {directory}.")
    return items


# --- MoViNet embeddings, cached per video -----------------------------------------------------------------
def embed_videos(sources: Sequence[VideoSource], progress: ProgressFn | None = None, settings=None) -> list:
    """ClipEmbeddings per source (cached under $VIGIL_DATA_DIR/features by sha256 + settings)."""
    from core.features.clip import MOVINET_FILE, ClipSettings, MovinetModel, embed_video

    settings = settings or ClipSettings()
    weights = weight_path(MOVINET_FILE)
    model = MovinetModel(weights)  # one interpreter for this (single) thread
    out = []
    for i, src in enumerate(sources):
        out.append(embed_video(src, weights, settings, model))
        if progress:
            progress((i + 1) / len(sources), f"MoViNet features: {i + 1}/{len(sources)} videos")
    return out


def _scaled(progress: ProgressFn | None, lo: float, hi: float) -> ProgressFn | None:
    if progress is None:
        return None
    return lambda f, msg: progress(lo + (hi - lo) * min(max(f, 0.0), 1.0), msg)


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


def cross_validate_head(head_cls, embs: list, labels, groups, folds: int = 5, seed: int = 0) -> dict:
    """Out-of-fold video scores for one head. Returns {cv_auc, cv_ap, cv_auc_mean_fold, cv_folds, cv_grouped,
    oof_scores}; cv_auc None when there are too few videos or the test folds hold one class only."""
    from core.metrics import average_precision, roc_auc

    labels = np.asarray(labels, int)
    splits = cv_splits(labels, groups, folds, seed)
    out = {"cv_auc": None, "cv_ap": None, "cv_auc_mean_fold": None, "cv_folds": 0, "cv_grouped": any(groups)}
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


# --- training from video-level labels -------------------------------------------------------------------
LABEL_KINDS = ("movinet-logistic", "movinet-mil", "movinet-knn", "pose-lstm-ae")


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
    from core.sources import open_source

    if kind not in LABEL_KINDS:
        raise UnknownModelError(f"Cannot train '{kind}' from labels. Trainable kinds: {', '.join(LABEL_KINDS)}.")
    if not items:
        raise DataError("No labelled videos to train on.")
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise DataError(f"'{name}' is not a usable model name (no slashes, not empty).")
    labels = np.array([int(it.label) for it in items])
    groups = [it.group for it in items]
    sources = [open_source(it.path) for it in items]
    counts = {"n_videos": len(items), "n_abnormal": int(labels.sum()), "n_normal": int((labels == 0).sum())}
    if kind == "pose-lstm-ae":
        return _train_pose_from_labels(items, sources, labels, name, description, progress, seed, folds, directory)

    from core.features.clip import MOVINET_FILE, ClipSettings
    from core.registry import ModelSpec
    from core.scorers.clip import HEADS, ClipScorer

    head_cls = HEADS[kind]
    if head_cls.needs == "labels" and (counts["n_abnormal"] == 0 or counts["n_normal"] == 0):
        raise DataError(f"'{kind}' needs both abnormal and normal videos; got {counts}.")
    if head_cls.needs == "normal" and counts["n_normal"] == 0:
        raise DataError(f"'{kind}' is a normality model and needs videos labelled normal (0).")
    settings = ClipSettings()
    embs = embed_videos(sources, _scaled(progress, 0.0, 0.8), settings)
    if progress:
        progress(0.8, "cross-validating")
    cv = cross_validate_head(head_cls, embs, labels, groups, folds, seed)
    cv.pop("oof_scores", None)
    if progress:
        progress(0.9, "fitting on all videos")
    head = head_cls.fit(embs, labels, seed=seed)
    train_scores = np.array([head.video_score(e) for e in embs])
    from core.metrics import roc_auc

    train_auc = roc_auc(labels, train_scores) if 0 < labels.sum() < len(labels) else float("nan")
    spec = ModelSpec(name=name, kind=kind, featurizer="movinet-a0")
    result = FitResult(
        scorer=ClipScorer(spec, weight_path(MOVINET_FILE), settings, head),
        kind=kind,
        params={"settings": settings.to_dict(), **head.params(), "seed": seed},
        save_artifact=lambda p: head.save(p, settings),
        artifact_suffix=".npz",
        metrics={**counts, **cv, "train_auc": None if np.isnan(train_auc) else float(train_auc)},
    )
    card = register(
        result,
        name,
        description or f"{kind} trained on {len(items)} labelled videos",
        sources,
        directory,
        extra={
            "featurizer": "movinet-a0",
            "weights": [_weight_card_entry(MOVINET_FILE)],
            "trained_on": _trained_on(items, sources),
        },
    )
    if progress:
        progress(1.0, f"saved {name}")
    return TrainReport(name, card, result.metrics)


def _trained_on(items: list[LabelledVideo], sources: Sequence[VideoSource]) -> dict:
    return {
        "videos": [
            {"name": s.meta.name, "sha256": s.sha256, "label": it.label, "category": it.category, "group": it.group}
            for it, s in zip(items, sources, strict=True)
        ],
        "count": len(items),
    }


def _train_pose_from_labels(items, sources, labels, name, description, progress, seed, folds, directory):
    """Pose normality from the label-0 videos; CV scores every held-out video by its highest frame score."""
    from core.metrics import roc_auc
    from core.scorers.pose import PoseNormality, score_trackset

    counts = {"n_videos": len(items), "n_abnormal": int(labels.sum()), "n_normal": int((labels == 0).sum())}
    if counts["n_normal"] == 0:
        raise DataError("pose-lstm-ae is a normality model and needs videos labelled normal (0).")
    weights = pose_weight_path()
    tracks = track_videos(sources, weights, _scaled(progress, 0.0, 0.7))
    groups = [it.group for it in items]
    cv = {"cv_auc": None, "cv_ap": None, "cv_auc_mean_fold": None, "cv_folds": 0, "cv_grouped": any(groups)}
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
        cv.update(cv_auc=None if np.isnan(auc) else float(auc), cv_folds=len(splits))
    model = PoseNormality.fit([t for t, y in zip(tracks, labels, strict=True) if y == 0], seed=seed)
    result = _pose_result(model, weights, counts | cv)
    card = register(
        result,
        name,
        description or f"pose-lstm-ae fitted on {counts['n_normal']} normal videos",
        sources,
        directory,
        extra={"trained_on": _trained_on(items, sources)},
    )
    return TrainReport(name, card, result.metrics)


# --- pose ---------------------------------------------------------------------------------------------
def pose_weight_path() -> Path:
    """The pose weights: the int8 TFLite model when it is here (faster on CPU), else yolov8n-pose.pt
    (ultralytics' official weights, downloaded when online)."""
    from core.features.pose import POSE_PT, POSE_TFLITE
    from core.registry import find_file

    return find_file(POSE_TFLITE) or weight_path(POSE_PT)


def track_videos(sources: Sequence[VideoSource], weights: Path, progress: ProgressFn | None = None) -> list:
    from core.features.pose import track_video
    from core.scorers.pose import FPS

    out = []
    for i, src in enumerate(sources):
        out.append(track_video(src, weights, fps=FPS))
        if progress:
            progress((i + 1) / len(sources), f"pose tracks: {i + 1}/{len(sources)} videos")
    return out


def _pose_result(model, weights: Path, metrics: dict) -> FitResult:
    from core.scorers.pose import PoseScorer

    spec = ModelSpec(name="pose-lstm-ae", kind="pose-lstm-ae", featurizer="pose")
    return FitResult(
        scorer=PoseScorer(spec, weights, model),
        kind="pose-lstm-ae",
        params={"pose_weights": weights.name, "steps": model.steps, "fps": model.fps, "ref": model.ref},
        save_artifact=model.save,
        artifact_suffix=".npz",
        metrics=metrics,
        card_extra={"featurizer": "pose", "weights": [_weight_card_entry(weights.name)]},
    )


@register_fitter("pose-lstm-ae")
def _fit_pose(sources, scoring, progress) -> FitResult:
    from core.scorers.pose import PoseNormality

    weights = pose_weight_path()
    tracks = track_videos(sources, weights, _scaled(progress, 0.0, 0.8))
    model = PoseNormality.fit(tracks, seed=0, progress=_scaled(progress, 0.8, 1.0))
    return _pose_result(model, weights, {"videos": len(sources), "ref": model.ref})


@register_fitter("movinet-knn")
def _fit_movinet_knn(sources, scoring, progress) -> FitResult:
    from core.features.clip import MOVINET_FILE, ClipSettings
    from core.scorers.clip import ClipScorer, KnnNormality

    settings = ClipSettings()
    embs = embed_videos(sources, _scaled(progress, 0.0, 0.95), settings)
    head = KnnNormality.fit(embs, seed=0)
    spec = ModelSpec(name="movinet-knn", kind="movinet-knn", featurizer="movinet-a0")
    return FitResult(
        scorer=ClipScorer(spec, weight_path(MOVINET_FILE), settings, head),
        kind="movinet-knn",
        params={"settings": settings.to_dict(), **head.params()},
        save_artifact=lambda p: head.save(p, settings),
        artifact_suffix=".npz",
        metrics={"windows": int(sum(len(e) for e in embs))},
        card_extra={"featurizer": "movinet-a0", "weights": [_weight_card_entry(MOVINET_FILE)]},
    )
