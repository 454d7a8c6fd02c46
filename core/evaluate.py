"""Evaluation on labelled data: frame level (UCSD-style) and video level (labelled clips).

Frame level — fit on normal footage, score test clips, pooled ROC AUC / AP over all test frames:
- ``load_ucsd(root)``: ``training/frames/NN``, ``testing/frames/NN`` and ``ped2.mat`` (1-based intervals);
- ``load_frame_dataset(train_dir, test_dir, labels_csv)``: folders of videos or frame folders, and a CSV
  ``video,frame,label`` (frame 0-based in native order; frames not listed count as normal).
Every result is printed beside the position-only baseline (score = position of the frame in its clip),
which already reaches 0.75 ROC AUC on UCSD Ped2, and with the app's smoothed score curve beside the raw one.

Video level — ``load_video_dataset(dir, labels_csv | class subfolders, groups_file)`` and
``evaluate_videos``: trainable heads are cross-validated (grouped k-fold when groups are known, so that
clips cut from one source never sit on both sides), registry models are run as they are; video ROC AUC,
AP, a duration-only baseline, and frames/s with the real-time factor per model.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import families
from core.config import EventConfig, ScoringConfig
from core.dataset import LabelledVideo, load_labelled, open_videos
from core.engine import score_source
from core.errors import DataError
from core.events import held_sample, smooth
from core.families.base import ProgressFn, scaled_progress
from core.metrics import average_precision, roc_auc
from core.registry import load_scorer
from core.scorers.base import Scorer
from core.sources import VideoSource, open_source
from core.train import fit_normal


@dataclass
class FrameDataset:
    name: str
    train: list[VideoSource]
    test: list[VideoSource]
    labels: dict[str, np.ndarray]  # test video name -> (n_native_frames,) bool


def load_ucsd(root: str | Path) -> FrameDataset:
    from scipy.io import loadmat

    root = Path(root)
    mat = root / "ped2.mat"
    if not mat.is_file():
        raise DataError(f"{mat} not found: is {root} a UCSD Ped2 folder?")
    train = open_videos(root / "training" / "frames")
    test = open_videos(root / "testing" / "frames")
    gt = loadmat(str(mat))["gt"][0]
    if len(gt) != len(test):
        raise DataError(f"ped2.mat has {len(gt)} clips but testing/frames has {len(test)}")
    labels = {}
    for src, intervals in zip(test, gt, strict=True):
        y = np.zeros(src.meta.frame_count, bool)
        frame_no = np.arange(1, src.meta.frame_count + 1)
        for start, end in np.asarray(intervals).reshape(2, -1).T:
            y |= (frame_no >= start) & (frame_no <= end)
        labels[src.meta.name] = y
    return FrameDataset("UCSD Ped2", train, test, labels)


def load_frame_dataset(train_dir: str | Path, test_dir: str | Path, labels_csv: str | Path) -> FrameDataset:
    train = open_videos(Path(train_dir))
    test = open_videos(Path(test_dir))
    labels = {s.meta.name: np.zeros(s.meta.frame_count, bool) for s in test}
    stems = {Path(n).stem: n for n in labels}
    with open(labels_csv, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"video", "frame", "label"} <= set(reader.fieldnames):
            raise DataError(f"{labels_csv} needs columns video,frame,label")
        for line, row in enumerate(reader, start=2):
            name = row["video"] if row["video"] in labels else stems.get(Path(row["video"]).stem)
            if name is None:
                raise DataError(f"{labels_csv}:{line}: unknown video '{row['video']}'")
            try:
                frame, label = int(row["frame"]), int(row["label"])
            except ValueError:
                raise DataError(f"{labels_csv}:{line}: frame and label must be integers") from None
            if 0 <= frame < len(labels[name]):
                labels[name][frame] = bool(label)
    return FrameDataset(Path(test_dir).name, train, test, labels)


def native_scores(scorer: Scorer, src: VideoSource, scoring: ScoringConfig) -> np.ndarray:
    """One score per native frame: scored at the analysis fps, each frame takes the last sample's score."""
    frames, _, scores = score_source(src, scorer, scoring)
    out = np.zeros(src.meta.frame_count)
    idx = held_sample(frames, src.meta.frame_count)
    out[:] = scores[np.clip(idx, 0, len(scores) - 1)]
    return out


def position_baseline(ds: FrameDataset) -> np.ndarray:
    return np.concatenate([np.linspace(0.0, 1.0, len(ds.labels[s.meta.name])) for s in ds.test])


def evaluate_frames(
    ds: FrameDataset,
    models: list[str],
    scoring: ScoringConfig | None = None,
    progress: ProgressFn | None = None,
) -> dict:
    """For each model name: a kind with a normality fitter is fitted on ``ds.train``; otherwise the registry
    model is used.

    Returns {"dataset", "frames", "anomalous_frames", "position_baseline": {auc, ap}, "models": {name: {...}}}.
    """
    scoring = scoring or ScoringConfig(fps=max(s.meta.fps for s in ds.test))
    y = np.concatenate([ds.labels[s.meta.name] for s in ds.test])
    pos = position_baseline(ds)
    out = {
        "dataset": ds.name,
        "frames": int(len(y)),
        "anomalous_frames": int(y.sum()),
        "position_baseline": {"auc": roc_auc(y, pos), "ap": average_precision(y, pos)},
        "models": {},
    }
    for name in models:
        t0 = time.perf_counter()
        family = families.get(name)
        if family is not None and family.fit_normal is not None:
            scorer = fit_normal(name, ds.train, scoring, progress).scorer
        else:
            scorer = load_scorer(name)
        fit_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        parts = []
        for i, src in enumerate(ds.test):
            parts.append(native_scores(scorer, src, scoring))
            if progress:
                progress((i + 1) / len(ds.test), f"{name}: scored {i + 1}/{len(ds.test)} test clips")
        score_s = time.perf_counter() - t1
        s = np.concatenate(parts)
        # The score curve the app shows and cuts events on: a centred moving average (EventConfig default).
        smooth_s = EventConfig().smooth_seconds
        sm = np.concatenate(
            [smooth(p, np.arange(len(p)) / src.meta.fps, smooth_s) for p, src in zip(parts, ds.test, strict=True)]
        )
        video_s = sum(src.meta.duration for src in ds.test)
        out["models"][name] = {
            "auc": roc_auc(y, s),
            "ap": average_precision(y, s),
            "auc_smoothed": roc_auc(y, sm),
            "ap_smoothed": average_precision(y, sm),
            "smooth_seconds": smooth_s,
            "fit_seconds": fit_s,
            "frames_per_second": len(s) / score_s,
            "realtime_factor": video_s / score_s,
        }
    return out


def format_report(result: dict) -> str:
    lines = [
        f"{result['dataset']}: {result['frames']} test frames, {result['anomalous_frames']} anomalous",
        f"{'model':<22}{'ROC AUC':>9}{'AP':>8}{'smoothed AUC':>14}{'AP':>8}{'frames/s':>10}{'x real time':>13}",
        f"{'position-only baseline':<22}{result['position_baseline']['auc']:>9.3f}"
        f"{result['position_baseline']['ap']:>8.3f}{'-':>14}{'-':>8}{'-':>10}{'-':>13}",
    ]
    for name, m in result["models"].items():
        lines.append(
            f"{name:<22}{m['auc']:>9.3f}{m['ap']:>8.3f}{m['auc_smoothed']:>14.3f}{m['ap_smoothed']:>8.3f}"
            f"{m['frames_per_second']:>10.1f}{m['realtime_factor']:>13.1f}"
        )
    if result["models"]:
        s = next(iter(result["models"].values()))["smooth_seconds"]
        lines.append(f"(smoothed = the app's {s:g} s centred moving average of the scores)")
    return "\n".join(lines)


# --- video level ------------------------------------------------------------------------------------------
def load_video_dataset(
    videos: str | Path, labels_csv: str | Path | None = None, groups_file: str | Path | None = None
) -> list[LabelledVideo]:
    """Labelled videos from ``video,label[,category][,group]`` (paths relative to ``videos``) or class
    subfolders, grouped by a source list when given (see ``core.dataset.load_labelled``)."""
    return load_labelled(videos, labels_csv, groups_file)


def _throughput(scorer: Scorer, sources: list[VideoSource], scoring: ScoringConfig) -> dict:
    """Full analysis (decode + model) on a few videos, no cache: frames/s and real-time factor."""
    t0 = time.perf_counter()
    frames = 0
    for src in sources:
        f, _, _ = score_source(src, scorer, scoring)
        frames += len(f)
    dt = time.perf_counter() - t0
    return {
        "frames_per_second": frames / dt,
        "realtime_factor": sum(s.meta.duration for s in sources) / dt,
        "throughput_videos": len(sources),
    }


def evaluate_videos(
    items: list,
    models: list[str],
    folds: int = 5,
    seeds: int = 1,
    scoring: ScoringConfig | None = None,
    progress: ProgressFn | None = None,
    name: str = "videos",
    throughput_videos: int = 6,
) -> dict:
    """Video-level ROC AUC. A kind that trains from labels (movinet-logistic, movinet-mil, movinet-knn,
    pose-lstm-ae) is cross-validated by its family (grouped k-fold when the items carry groups), repeated
    over ``seeds`` seeds; a registry name is run as it is (video score = its highest frame score) — only
    honest on videos it never saw.

    Returns {"dataset", "videos", "abnormal", "normal", "groups", "baselines": {"duration": {auc}},
    "models": {name: {"video_auc", "video_auc_sd", "video_ap", "cv_auc_mean_fold", "folds", "evaluation",
    "frames_per_second", "realtime_factor"}}}.
    """
    if not items:
        raise DataError("No labelled videos to evaluate on.")
    scoring = scoring or ScoringConfig()
    labels = np.array([it.label for it in items])
    groups = [it.group for it in items]
    sources = [open_source(it.path) for it in items]
    durations = np.array([s.meta.duration for s in sources])
    out = {
        "dataset": name,
        "videos": len(items),
        "abnormal": int(labels.sum()),
        "normal": int((labels == 0).sum()),
        "groups": len({g for g in groups if g}) or None,
        "baselines": {"duration": {"auc": roc_auc(labels, durations), "ap": average_precision(labels, durations)}},
        "models": {},
    }
    sample = [sources[i] for i in np.linspace(0, len(sources) - 1, min(throughput_videos, len(sources)), dtype=int)]
    for m_i, model in enumerate(models):
        report = scaled_progress(progress, m_i / len(models), (m_i + 1) / len(models), model)
        family = families.get(model)
        if family is not None and family.fit_labels is not None:
            fits = [family.fit_labels(items, sources, report, seed, folds) for seed in range(seeds)]
            runs = [f.metrics for f in fits]
            aucs = [r["cv_auc"] for r in runs if r["cv_auc"] is not None]
            if not aucs:
                raise DataError(f"Too few videos (per class and group) to cross-validate {model}.")
            scorer = fits[0].scorer
            aps = [r["cv_ap"] for r in runs if r.get("cv_ap") is not None]
            fold_means = [r["cv_auc_mean_fold"] for r in runs if r.get("cv_auc_mean_fold")]
            res = {
                "video_auc": float(np.mean(aucs)),
                "video_auc_sd": float(np.std(aucs)),
                "video_ap": float(np.mean(aps)) if aps else None,
                "cv_auc_mean_fold": float(np.mean(fold_means)) if fold_means else None,
                "folds": runs[0]["cv_folds"],
                "evaluation": f"{'grouped ' if any(groups) else ''}{runs[0]['cv_folds']}-fold CV, {len(aucs)} seed(s)",
            }
        else:
            scorer = load_scorer(model)
            scores = []
            for i, src in enumerate(sources):
                scores.append(float(score_source(src, scorer, scoring)[2].max()))
                if report:
                    report((i + 1) / len(sources), f"{model}: {i + 1}/{len(sources)} videos")
            res = {
                "video_auc": roc_auc(labels, scores),
                "video_auc_sd": 0.0,
                "video_ap": average_precision(labels, scores),
                "cv_auc_mean_fold": None,
                "folds": 0,
                "evaluation": "as registered (no fitting here)",
            }
        res.update(_throughput(scorer, sample, scoring))
        out["models"][model] = res
    return out


def format_video_report(result: dict) -> str:
    lines = [
        f"{result['dataset']}: {result['videos']} videos ({result['abnormal']} abnormal, {result['normal']} normal"
        + (f", {result['groups']} source groups)" if result["groups"] else ")"),
        f"{'model':<22}{'video AUC':>10}{'± sd':>7}{'AP':>7}{'frames/s':>10}{'x real time':>13}  evaluation",
        f"{'duration-only baseline':<22}{result['baselines']['duration']['auc']:>10.3f}{'':>7}"
        f"{result['baselines']['duration']['ap']:>7.3f}{'-':>10}{'-':>13}",
    ]
    for name, m in result["models"].items():
        lines.append(
            f"{name:<22}{m['video_auc']:>10.3f}{m['video_auc_sd']:>7.3f}{m['video_ap']:>7.3f}"
            f"{m['frames_per_second']:>10.1f}{m['realtime_factor']:>13.1f}  {m['evaluation']}"
        )
    return "\n".join(lines)
