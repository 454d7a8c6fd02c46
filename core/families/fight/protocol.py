"""How well a fight head generalises: outer splits by source, every choice made inside the training part.

``evaluate(library, labels, groups, durations, splits)`` runs, per outer split,
- the new head: ``select_and_fit`` on the training videos only (nested selection + Platt calibration);
- the v1 head (today's ``fight-movinet``: whole-video mean features, C=0.1, one view, no calibration),
  refitted on the same training videos;
and scores each held-out video the app's way: calibrated window scores -> per-frame scores (what the
scorer stream returns) -> the app's 1 s centred moving average -> max. It also keeps the held-out window
scores (false alarms: noFight windows >= 0.5; recall: fight windows >= 0.5) and v1's whole-video-mean
score (how v1 was evaluated before). Returns pooled out-of-fold figures per head.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from core.families.fight.fit import DEFAULT_GRID, V1_CONFIG, Grid, Library, fit_config, select_and_fit
from core.families.fight.head import APP_SMOOTH_SECONDS, FightHead, video_features
from core.metrics import average_precision, roc_auc

ProgressFn = Callable[[float, str], None]
LINE = 0.5


def _window_figures(wins: list[np.ndarray], labels: np.ndarray) -> dict:
    """Window-level figures over held-out videos: false alarms (noFight windows >= 0.5), recall (fight
    windows >= 0.5), window ROC AUC and log-loss against the weak (video) label."""
    neg = np.concatenate([w for w, y in zip(wins, labels, strict=True) if y == 0] or [np.zeros(0)])
    pos = np.concatenate([w for w, y in zip(wins, labels, strict=True) if y == 1] or [np.zeros(0)])
    s = np.concatenate([neg, pos])
    y = np.concatenate([np.zeros(len(neg)), np.ones(len(pos))])
    p = np.clip(s, 1e-6, 1 - 1e-6)
    return {
        "nofight_windows": len(neg),
        "fight_windows": len(pos),
        "false_alarm_rate": float((neg >= LINE).mean()) if len(neg) else None,
        "recall": float((pos >= LINE).mean()) if len(pos) else None,
        "window_auc": roc_auc(y, s),
        "window_log_loss": float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()),
    }


def _video_figures(scores: np.ndarray, labels: np.ndarray) -> dict:
    return {
        "video_auc": roc_auc(labels, scores),
        "video_ap": average_precision(labels, scores),
        "video_false_alarm_rate": float((scores[labels == 0] >= LINE).mean()),
        "video_recall": float((scores[labels == 1] >= LINE).mean()),
    }


def _score_held_out(head: FightHead, library: Library, idx, smooth_seconds: float):
    views_of = library[(head.config.window, head.config.hop)]
    vid = np.array([head.video_score(views_of[i], smooth_seconds) for i in idx])
    wins = [head.window_scores(views_of[i]) for i in idx]
    return vid, wins


def evaluate(
    library: Library,
    labels: Sequence[int],
    groups: Sequence[str],
    durations: Sequence[float],
    splits: list[tuple[np.ndarray, np.ndarray]],
    grid: Grid = DEFAULT_GRID,
    inner_folds: int = 3,
    seed: int = 0,
    smooth_seconds: float = APP_SMOOTH_SECONDS,
    progress: ProgressFn | None = None,
) -> dict:
    """Pooled out-of-fold figures: {"heads": {"new": {...}, "v1": {...}, "v1 (whole-video mean)": {...}},
    "baselines": {"duration": {...}}, "choices": Counter of selected settings, "folds": [...]}."""
    y = np.asarray(labels, int)
    n = len(y)
    new_vid, v1_vid, v1_mean = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    new_win: list = [None] * n
    v1_win: list = [None] * n
    folds = []
    for k, (tr, te) in enumerate(splits):
        head = select_and_fit(library, y, groups, tr, grid, inner_folds, seed, smooth_seconds)
        vid, wins = _score_held_out(head, library, te, smooth_seconds)
        new_vid[te] = vid
        for i, w in zip(te, wins, strict=True):
            new_win[i] = w
        v1 = fit_config(library, y, tr, V1_CONFIG, seed)
        vid1, wins1 = _score_held_out(v1, library, te, smooth_seconds)
        v1_vid[te] = vid1
        for i, w in zip(te, wins1, strict=True):
            v1_win[i] = w
        full = library[(V1_CONFIG.window, V1_CONFIG.hop)]
        v1_mean[te] = [
            float(
                v1.calibrate(
                    ((video_features(full[i]["full"], "emb+logp") - v1.mean) / v1.std) @ v1.coef + v1.intercept
                )
            )
            for i in te
        ]
        folds.append(
            {
                "held_out": sorted({str(groups[i]) for i in te}),
                "n_test": len(te),
                "config": head.config.to_dict(),
                "platt": list(head.platt),
                "inner_auc": head.info.get("inner_auc"),
            }
        )
        if progress:
            progress((k + 1) / len(splits), f"outer fold {k + 1}/{len(splits)}")
    choices = Counter()
    for f in folds:
        c = f["config"]
        choices[f"window={c['window']}/{c['hop']}"] += 1
        choices[f"features={c['features']}"] += 1
        choices[f"C={c['C']}"] += 1
        choices[f"unit={c['unit']}"] += 1
        choices[f"train_views={'+'.join(c['train_views'])}"] += 1
        choices[f"test_views={'+'.join(c['test_views'])}"] += 1
        choices[f"frame_rule={c['frame_rule']}"] += 1
    return {
        "heads": {
            "new": {**_video_figures(new_vid, y), **_window_figures(new_win, y), "scores": new_vid.tolist()},
            "v1": {**_video_figures(v1_vid, y), **_window_figures(v1_win, y), "scores": v1_vid.tolist()},
            "v1 (whole-video mean)": {**_video_figures(v1_mean, y), "scores": v1_mean.tolist()},
        },
        "baselines": {"duration": {"video_auc": roc_auc(y, durations), "video_ap": average_precision(y, durations)}},
        "choices": dict(sorted(choices.items())),
        "folds": folds,
        "n_splits": len(splits),
    }
