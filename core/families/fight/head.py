"""The fight head: a calibrated linear classifier on MoViNet window features, scored the way the app scores.

A ``FightHead`` maps the windows of one video, seen under its test views, to scores in 0..1:
1. per view and window, features (``emb``: the 480-d embedding; ``emb+logp``: plus the 600 Kinetics
   log-probabilities), standardised, through a logistic regression -> a logit;
2. the logits of the test views are averaged per window (all views share the same windows);
3. Platt calibration ``sigmoid(a * z + b)``, fitted on the out-of-fold *video peaks* of the training
   videos (the peak logit below, against the video labels), so a window scoring 0.5 looks like the peak of
   a video that is a fight as often as not (at the training set's 50/50 balance): the 0.5 line of a 1.6 s
   window and of a whole video is the same line, and the app's segments start where it is crossed;
4. a sampled frame's score is the max (or mean, per ``frame_rule``) of the windows covering it -- what the
   scorer stream returns -- and a video's score is the max of those frame scores after the app's centred
   moving average (``smooth_seconds``, the Analyze page's default 1 s).

Saved as one ``.npz`` (no pickle): the arrays plus a JSON ``__meta`` holding the ``HeadConfig``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from core.errors import ModelNotFittedError
from core.events import smooth
from core.families.fight.views import check_views
from core.families.movinet.features import ClipEmbeddings, ClipSettings

FEATURE_SETS = ("emb", "emb+logp")
UNITS = ("window", "video")
FRAME_RULES = ("max", "mean")
APP_SMOOTH_SECONDS = 1.0  # core.config.EventConfig.smooth_seconds default
HEAD_FORMAT = "fight-head/1"

ViewEmbeddings = dict[str, ClipEmbeddings]  # one video: {view name: its windows under that view}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


@dataclass(frozen=True)
class HeadConfig:
    """Every modelling choice of the head (chosen inside training folds, see ``core.families.fight.fit``).

    window/hop: MoViNet window and hop in steps at ``fps`` (Hz); features: one of FEATURE_SETS;
    C: inverse L2 strength of the logistic regression; unit: "window" (each window is a training sample
    with its video's label, weighted so each video counts once) or "video" (one whole-video mean feature
    per video: the v1 head); train_views / test_views: view names (core.families.fight.views);
    frame_rule: how windows covering a frame combine; deborder: black bars cut before the views
    (``core.families.movinet.borders``), in training and scoring alike (v3 on; older heads off).
    """

    fps: float = 5.0
    window: int = 8
    hop: int = 4
    features: str = "emb+logp"
    C: float = 0.1
    unit: str = "window"
    train_views: tuple[str, ...] = ("full",)
    test_views: tuple[str, ...] = ("full",)
    frame_rule: str = "max"
    deborder: bool = False

    def __post_init__(self):
        if self.features not in FEATURE_SETS:
            raise ValueError(f"features must be one of {FEATURE_SETS}, got {self.features!r}")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {self.unit!r}")
        if self.frame_rule not in FRAME_RULES:
            raise ValueError(f"frame_rule must be one of {FRAME_RULES}, got {self.frame_rule!r}")
        if not self.C > 0:
            raise ValueError("C must be > 0")
        object.__setattr__(self, "train_views", check_views(self.train_views))
        object.__setattr__(self, "test_views", check_views(self.test_views))

    @property
    def settings(self) -> ClipSettings:
        return ClipSettings(fps=self.fps, window=self.window, hop=self.hop, resize="squash", deborder=self.deborder)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["train_views"], d["test_views"] = list(self.train_views), list(self.test_views)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> HeadConfig:
        d = dict(d)
        d["train_views"], d["test_views"] = tuple(d["train_views"]), tuple(d["test_views"])
        return cls(**d)


def window_features(emb: ClipEmbeddings, features: str) -> np.ndarray:
    """(W, 480) or (W, 1080) float32 features of each window."""
    return emb.vectors.astype(np.float32) if features == "emb" else emb.window_features()


def video_features(emb: ClipEmbeddings, features: str) -> np.ndarray:
    """(480,) or (1080,): the step-weighted whole-video mean (the v1 head's input)."""
    return emb.video_vector() if features == "emb" else emb.video_features()


def frame_scores(emb: ClipEmbeddings, window_scores: np.ndarray, rule: str = "max") -> np.ndarray:
    """Per sampled frame (N,): max or mean of the windows covering it; frames after the last window take
    that window's score (as ``ClipEmbeddings.frame_scores``)."""
    if rule == "max":
        return emb.frame_scores(window_scores)
    t = emb.frame_t
    out = np.zeros(len(t))
    if not len(window_scores) or not len(t):
        return out
    cover = (t[:, None] >= emb.start[None, :] - 1e-6) & (t[:, None] <= emb.end[None, :] + 1e-6)  # (N, W)
    n = cover.sum(1)
    out = np.where(n > 0, (cover * window_scores[None, :]).sum(1) / np.maximum(n, 1), 0.0)
    last = t > emb.end.max() + 1e-6
    out[last] = window_scores[int(np.argmax(emb.end))]
    return out


def video_score_from_frames(frame_t: np.ndarray, frame_score: np.ndarray, smooth_seconds: float) -> float:
    """The app's view of a video: the highest value of its smoothed score track (0 if empty)."""
    if not len(frame_score):
        return 0.0
    return float(smooth(frame_score, frame_t, smooth_seconds).max())


@dataclass
class FightHead:
    """A fitted head. mean/std (D,) standardiser; coef (D,), intercept: logistic regression on window (or
    video) features; platt (a, b): calibration of the view-averaged logit."""

    config: HeadConfig
    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray
    intercept: float
    platt: tuple[float, float] = (1.0, 0.0)
    info: dict = field(default_factory=dict)  # what selection found (inner-CV figures), saved with the head

    def with_platt(self, a: float, b: float) -> FightHead:
        return replace(self, platt=(float(a), float(b)))

    # --- scoring -------------------------------------------------------------------------------------
    def logits(self, emb: ClipEmbeddings) -> np.ndarray:
        """(W,) uncalibrated logits of one view's windows."""
        if not len(emb):
            return np.zeros(0)
        x = window_features(emb, self.config.features)
        return ((x - self.mean) / self.std) @ self.coef + self.intercept

    def view_logits(self, views: ViewEmbeddings) -> np.ndarray:
        """(W,) logits averaged over the head's test views."""
        missing = [v for v in self.config.test_views if v not in views]
        if missing:
            raise ModelNotFittedError(f"the fight head needs the view(s) {missing}")
        zs = [self.logits(views[v]) for v in self.config.test_views]
        if len({len(z) for z in zs}) > 1:
            raise ValueError("views of one video must have the same windows")
        return np.mean(zs, axis=0)

    def calibrate(self, z: np.ndarray) -> np.ndarray:
        a, b = self.platt
        return _sigmoid(a * np.asarray(z, np.float64) + b)

    def window_scores(self, views: ViewEmbeddings) -> np.ndarray:
        """(W,) calibrated window scores in 0..1."""
        return self.calibrate(self.view_logits(views))

    def frame_scores(self, views: ViewEmbeddings) -> np.ndarray:
        """(N,) per sampled frame, exactly what the scorer stream's ``finish`` returns."""
        emb = views[self.config.test_views[0]]
        return frame_scores(emb, self.window_scores(views), self.config.frame_rule)

    def video_score(self, views: ViewEmbeddings, smooth_seconds: float = APP_SMOOTH_SECONDS) -> float:
        emb = views[self.config.test_views[0]]
        return video_score_from_frames(emb.frame_t, self.frame_scores(views), smooth_seconds)

    # --- persistence ---------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format": HEAD_FORMAT, "config": self.config.to_dict(), "platt": list(self.platt), "info": self.info}
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(
            tmp,
            __meta=np.array(json.dumps(meta)),
            mean=self.mean.astype(np.float32),
            std=self.std.astype(np.float32),
            coef=self.coef.astype(np.float32),
            intercept=np.array(self.intercept),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> FightHead:
        try:
            with np.load(path) as z:
                meta = json.loads(str(z["__meta"]))
                arrays = {k: z[k] for k in ("mean", "std", "coef", "intercept")}
        except (OSError, KeyError, ValueError) as err:
            raise ModelNotFittedError(f"{Path(path).name} is not a fight head file ({err}).") from None
        if meta.get("format") != HEAD_FORMAT:
            raise ModelNotFittedError(f"{Path(path).name} is not a {HEAD_FORMAT} file.")
        return cls(
            HeadConfig.from_dict(meta["config"]),
            arrays["mean"],
            arrays["std"],
            arrays["coef"].astype(np.float64),
            float(arrays["intercept"]),
            tuple(meta["platt"]),
            meta.get("info", {}),
        )
