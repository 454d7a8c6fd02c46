"""Fitting the fight head from weak video labels, with every choice made inside the training videos.

- ``fit_config(library, labels, idx, config)``: one logistic regression for one ``HeadConfig`` on the
  videos ``idx`` (window-level samples with their video's label, or whole-video means), uncalibrated.
- ``select_and_fit(library, labels, groups, idx, grid)``: nested selection on the videos ``idx`` only:
  grouped inner k-fold (no source on both sides) over ``grid``, each candidate judged by the pooled
  inner out-of-fold video ROC AUC of the app's video score; then Platt calibration fitted on the chosen
  candidate's out-of-fold video peaks; then the chosen candidate refitted on all of ``idx``.
- ``loso_splits`` / ``grouped_kfold``: outer splits for evaluation; a source never spans both sides.

A *library* holds the cached windows of every video: ``{(window, hop): [ {view: ClipEmbeddings}, ... ]}``
(one dict per video, aligned with ``labels``), built by ``build_library``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.errors import DataError
from core.families.fight.head import (
    APP_SMOOTH_SECONDS,
    FightHead,
    HeadConfig,
    frame_scores,
    video_features,
    video_score_from_frames,
    window_features,
)
from core.families.movinet.features import ClipEmbeddings, ClipSettings

ProgressFn = Callable[[float, str], None]
Library = dict[tuple[int, int], list[dict[str, ClipEmbeddings]]]


@dataclass(frozen=True)
class Grid:
    """Candidates for nested selection. Fitting candidates: windows x features x C x unit x train views;
    scoring candidates (no refit): test views x frame rule."""

    windows: tuple[tuple[int, int], ...] = ((8, 4),)
    features: tuple[str, ...] = ("emb", "emb+logp")
    Cs: tuple[float, ...] = (0.1,)
    units: tuple[str, ...] = ("window", "video")
    train_views: tuple[tuple[str, ...], ...] = (
        ("full",),
        ("full", "flip"),
        ("full", "flip", "left", "centre", "right"),
    )
    # One test view by default: the default detector's speed budget (>= 10x real time on 2 cores with the
    # motion and object cues) has no room for a second MoViNet pass; TTA_GRID below evaluates it anyway.
    test_views: tuple[tuple[str, ...], ...] = (("full",),)
    frame_rules: tuple[str, ...] = ("max", "mean")
    deborder: bool = True  # not a candidate: black bars are cut for every head (v3; v2 was fitted without)

    def fit_candidates(self) -> list[HeadConfig]:
        return [
            HeadConfig(window=w, hop=h, features=f, C=c, unit=u, train_views=tv, deborder=self.deborder)
            for (w, h), f, c, u, tv in itertools.product(
                self.windows, self.features, self.Cs, self.units, self.train_views
            )
        ]

    def views(self) -> tuple[str, ...]:
        """Every view any candidate needs (extract these)."""
        return tuple(dict.fromkeys(v for vs in (*self.train_views, *self.test_views) for v in vs))

    def to_dict(self) -> dict:
        out = {}
        for k in self.__dataclass_fields__:
            v = getattr(self, k)
            out[k] = [list(x) if isinstance(x, tuple) else x for x in v] if isinstance(v, tuple) else v
        return out


DEFAULT_GRID = Grid()
V2_GRID = Grid(deborder=False)  # the v2 head's procedure (before black bars were cut), for its figures
TTA_GRID = Grid(test_views=(("full",), ("full", "flip")))  # adds a flipped test view (twice the MoViNet cost)
V1_CONFIG = HeadConfig(window=8, hop=4, features="emb+logp", C=0.1, unit="video")  # today's fight-movinet


# --- the library of cached features ----------------------------------------------------------------------
def build_library(
    sources: Sequence, weights: Path, grid: Grid = DEFAULT_GRID, progress: ProgressFn | None = None
) -> Library:
    """Windows of every source under every view and window setting of ``grid`` (cached on disk)."""
    from core.families.fight.features import embed_views
    from core.families.movinet.features import MovinetModel

    model = MovinetModel(weights)
    lib: Library = {wh: [] for wh in grid.windows}
    for i, src in enumerate(sources):
        for w, h in grid.windows:
            settings = ClipSettings(window=w, hop=h, deborder=grid.deborder)
            lib[(w, h)].append(embed_views(src, weights, grid.views(), settings, model))
        if progress:
            progress((i + 1) / len(sources), f"MoViNet features: {i + 1}/{len(sources)} videos")
    return lib


# --- splits ----------------------------------------------------------------------------------------------
def loso_splits(groups: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-source-out: one split per group, that group's videos held out, everything else trains."""
    g = np.asarray(groups)
    return [(np.flatnonzero(g != s), np.flatnonzero(g == s)) for s in sorted(set(g.tolist()))]


def grouped_kfold(labels, groups, folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified grouped k-fold over positions; folds lacking a class in training are not produced
    (fewer folds instead). Raises DataError when there are too few groups per class."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(labels, int)
    g = np.asarray(groups)
    per_class = [len(set(g[y == c].tolist())) for c in (0, 1)]
    k = min(folds, *per_class) if min(per_class) else 0
    while k >= 2:
        splits = list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y, g))
        if all(len(set(y[tr].tolist())) == 2 for tr, _ in splits):
            return splits
        k -= 1
    raise DataError(f"Too few sources per class to cross-validate (abnormal/normal sources: {per_class[::-1]}).")


# --- one fit -----------------------------------------------------------------------------------------------
def _training_matrix(views_of: list[dict[str, ClipEmbeddings]], labels: np.ndarray, idx, cfg: HeadConfig):
    """(X (n,D), y (n,), weight (n,)): each (video, view) weighs 1 / len(train_views) in total."""
    xs, ys, ws = [], [], []
    nv = len(cfg.train_views)
    for i in idx:
        for v in cfg.train_views:
            emb = views_of[i][v]
            if not len(emb):
                continue
            if cfg.unit == "video":
                xs.append(video_features(emb, cfg.features)[None])
                ys.append([labels[i]])
                ws.append([1.0 / nv])
            else:
                x = window_features(emb, cfg.features)
                xs.append(x)
                ys.append(np.full(len(x), labels[i]))
                ws.append(np.full(len(x), 1.0 / (nv * len(x))))
    if not xs:
        raise DataError("No windows to train the fight head on.")
    return np.concatenate(xs), np.concatenate(ys).astype(int), np.concatenate(ws)


def fit_config(library: Library, labels, idx, cfg: HeadConfig, seed: int = 0) -> FightHead:
    """An uncalibrated head (platt = identity) for ``cfg`` on the videos at positions ``idx``."""
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(labels, int)
    x, y, w = _training_matrix(library[(cfg.window, cfg.hop)], labels, idx, cfg)
    if len(set(y.tolist())) < 2:
        raise DataError("The fight head needs fight (1) and no-fight (0) videos to train on.")
    mean = x.mean(0)
    std = x.std(0) + 1e-3  # the floor keeps near-constant dimensions from exploding
    from threadpoolctl import threadpool_limits

    clf = LogisticRegression(C=cfg.C, max_iter=3000, random_state=seed)
    with threadpool_limits(1):  # small problems: BLAS threads only contend (20x slower on a busy 2-core box)
        clf.fit((x - mean) / std, y, sample_weight=w * len(idx) / w.sum())
    return FightHead(
        cfg, mean.astype(np.float32), std.astype(np.float32), clf.coef_[0].astype(np.float64), float(clf.intercept_[0])
    )


def fit_platt(z: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """(a, b) of ``sigmoid(a*z + b)`` by weighted maximum likelihood (a tiny L2 keeps a separable set finite)."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y, int)
    if len(set(y.tolist())) < 2:
        return 1.0, 0.0
    clf = LogisticRegression(C=100.0, max_iter=1000).fit(np.asarray(z, np.float64)[:, None], y, sample_weight=w)
    return float(clf.coef_[0, 0]), float(clf.intercept_[0])


def peak_logit(emb: ClipEmbeddings, z: np.ndarray, rule: str, smooth_seconds: float) -> float:
    """A video's peak in logit space: window logits -> frame logits (max/mean) -> moving average -> max."""
    return video_score_from_frames(emb.frame_t, frame_scores(emb, z, rule), smooth_seconds) if len(z) else -60.0


def fit_peak_platt(embs: list[ClipEmbeddings], zs: list[np.ndarray], y, rule: str, smooth_seconds: float):
    """Platt (a, b) fitted on out-of-fold video peaks against video labels: a window scoring 0.5 then looks
    like the peak of a video that is a fight as often as not -- the 0.5 line of a window and of a video agree."""
    peaks = np.array([peak_logit(e, z, rule, smooth_seconds) for e, z in zip(embs, zs, strict=True)])
    return fit_platt(peaks, np.asarray(y, int))


# --- nested selection --------------------------------------------------------------------------------------
def _score_options(grid: Grid) -> list[tuple[tuple[str, ...], str]]:
    return list(itertools.product(grid.test_views, grid.frame_rules))


def _video_scores(head: FightHead, views_of, idx, options, smooth_seconds: float) -> dict:
    """{(test_views, rule): (len(idx),) app-style video scores} plus {"z": {test_views: [per-video logits]}}."""
    out: dict = {}
    zs: dict = {}
    for tv in {o[0] for o in options}:
        zs[tv] = [np.mean([head.logits(views_of[i][v]) for v in tv], axis=0) for i in idx]
    for tv, rule in options:
        vals = []
        for k, i in enumerate(idx):
            emb = views_of[i][tv[0]]
            p = 1.0 / (1.0 + np.exp(-np.clip(zs[tv][k], -60, 60)))
            vals.append(video_score_from_frames(emb.frame_t, frame_scores(emb, p, rule), smooth_seconds))
        out[(tv, rule)] = np.array(vals)
    out["z"] = zs
    return out


def select_and_fit(
    library: Library,
    labels,
    groups,
    idx=None,
    grid: Grid = DEFAULT_GRID,
    inner_folds: int = 3,
    seed: int = 0,
    smooth_seconds: float = APP_SMOOTH_SECONDS,
    progress: ProgressFn | None = None,
) -> FightHead:
    """Choose a ``HeadConfig`` by grouped inner CV on the videos ``idx`` (default: all), calibrate it on its
    inner out-of-fold video peaks, refit it on all of ``idx``. Nothing outside ``idx`` is read.

    The chosen head's ``info`` holds the inner-CV AUC of every candidate (for the model card)."""
    from core.metrics import roc_auc

    labels = np.asarray(labels, int)
    groups = np.asarray(groups)
    idx = np.arange(len(labels)) if idx is None else np.asarray(idx)
    inner = grouped_kfold(labels[idx], groups[idx], inner_folds, seed)
    cands = grid.fit_candidates()
    options = _score_options(grid)
    oof = {(c, o): np.zeros(len(idx)) for c in cands for o in options}
    oof_z = {(c, tv): [None] * len(idx) for c in cands for tv in grid.test_views}
    total, done = len(cands) * len(inner), 0
    for tr, te in inner:
        for c in cands:
            head = fit_config(library, labels, idx[tr], c, seed)
            res = _video_scores(head, library[(c.window, c.hop)], idx[te], options, smooth_seconds)
            for o in options:
                oof[(c, o)][te] = res[o]
            for tv in grid.test_views:
                for k, pos in enumerate(te):
                    oof_z[(c, tv)][pos] = res["z"][tv][k]
            done += 1
            if progress:
                progress(done / total, f"inner CV {done}/{total}")
    y = labels[idx]
    table = []
    for c in cands:
        for tv, rule in options:
            table.append((roc_auc(y, oof[(c, (tv, rule))]), c, tv, rule))
    # Ties (within 0.002) go to the cheaper, simpler candidate: fewer test views, then grid order.
    best_auc = max(a for a, *_ in table)
    near = [r for r in table if r[0] >= best_auc - 0.002]
    auc, c, tv, rule = min(near, key=lambda r: (len(r[2]), table.index(r)))
    chosen = replace(c, test_views=tv, frame_rule=rule)
    # Platt on the chosen candidate's out-of-fold video peaks (logit space), against the video labels.
    views_of = library[(c.window, c.hop)]
    a, b = fit_peak_platt([views_of[i][tv[0]] for i in idx], oof_z[(c, tv)], y, rule, smooth_seconds)
    head = fit_config(library, labels, idx, chosen, seed).with_platt(a, b)
    ranking = sorted(table, key=lambda r: -r[0])[:8]
    head.info = {
        "selected_by": f"grouped {len(inner)}-fold inner CV on the training videos, video ROC AUC "
        f"(max of the {smooth_seconds:g} s smoothed frame scores)",
        "inner_auc": float(auc),
        "top_candidates": [
            {"inner_auc": float(r[0]), **replace(r[1], test_views=r[2], frame_rule=r[3]).to_dict()} for r in ranking
        ],
        "grid": grid.to_dict(),
        "n_videos": len(idx),
    }
    return head


def fit_fixed(
    library: Library,
    labels,
    groups,
    idx,
    cfg: HeadConfig,
    inner_folds: int = 3,
    seed: int = 0,
    smooth_seconds: float = APP_SMOOTH_SECONDS,
) -> FightHead:
    """Fit ``cfg`` as is (no selection) and calibrate it on grouped inner out-of-fold video peaks."""
    labels = np.asarray(labels, int)
    groups = np.asarray(groups)
    idx = np.asarray(idx)
    views_of = library[(cfg.window, cfg.hop)]
    zs: list = [None] * len(idx)
    for tr, te in grouped_kfold(labels[idx], groups[idx], inner_folds, seed):
        h = fit_config(library, labels, idx[tr], cfg, seed)
        for k in te:
            zs[k] = h.view_logits(views_of[idx[k]])
    embs = [views_of[i][cfg.test_views[0]] for i in idx]
    a, b = fit_peak_platt(embs, zs, labels[idx], cfg.frame_rule, smooth_seconds)
    return fit_config(library, labels, idx, cfg, seed).with_platt(a, b)
