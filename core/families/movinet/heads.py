"""Scorers on MoViNet clip embeddings (see core.families.movinet.features): heads that turn a window's 480-d
embedding into a score in 0..1, and the scorers that run them on video (the kinds are in this package's
``__init__``).

Heads (each trained on per-video ``ClipEmbeddings``; saved as one ``.npz``, no pickle):
Supervised heads see 1080 numbers per window (``ClipEmbeddings.window_features``: the 480-d embedding
and the 600 Kinetics log-probabilities); the normality head sees the 480-d embedding.
- ``movinet-logistic``: L2-regularised logistic regression on standardised video features, trained from
  video-level labels; a window's score is the abnormal probability (0.5 = decision boundary); a video's
  score is that of its whole-video features.
- ``movinet-mil``: the Sultani et al. MIL ranking head (core.families.movinet.mil) on window features; the
  segment score in 0..1 (its hinge margin puts normal near 0 and abnormal near 1; 0.5 between); a
  video's score is its top window's.
- ``movinet-knn``: normality model fitted on normal videos only: mean cosine distance to the k nearest
  normal windows, calibrated so 0.5 = the 99th percentile of leave-one-video-out normal distances.
- ``movinet-kinetics`` (built in, no training): zero-shot, the summed Kinetics-600 probability of the
  fighting classes (punching, kicking, wrestling, slapping...).

A frame's score is the highest score among the windows that cover it (offline); live, it is the score
of the most mature running window (causal).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.errors import DataError, ModelNotFittedError
from core.families.movinet.features import MOVINET_FILE, ClipEmbeddings, ClipSettings, MovinetClipper, MovinetModel
from core.registry import ModelSpec
from core.scorers.base import ModelInfo, Scorer, ScoringStream, calibrate

ProgressFn = Callable[[float, str], None]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


class EmbeddingHead(ABC):
    """Maps window embeddings to scores in 0..1. ``needs`` says what fitting uses: both classes or normal."""

    kind: str
    needs: str = "labels"  # "labels" (abnormal + normal videos) or "normal" (label-0 videos only)

    @classmethod
    @abstractmethod
    def fit(
        cls, videos: Sequence[ClipEmbeddings], labels: np.ndarray, seed: int = 0, progress: ProgressFn | None = None
    ) -> EmbeddingHead: ...

    @abstractmethod
    def window_scores(self, emb: ClipEmbeddings) -> np.ndarray:
        """(W,) scores in 0..1, one per window of ``emb``."""

    def video_score(self, emb: ClipEmbeddings) -> float:
        """A video's score: its most abnormal window (MIL's bag score)."""
        s = self.window_scores(emb)
        return float(s.max()) if len(s) else 0.0

    @abstractmethod
    def to_arrays(self) -> dict[str, np.ndarray]: ...

    @classmethod
    @abstractmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> EmbeddingHead: ...

    def params(self) -> dict:
        return {}

    def save(self, path: Path, settings: ClipSettings) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        meta = json.dumps({"kind": self.kind, "settings": settings.to_dict(), "params": self.params()})
        np.savez(tmp, __meta=np.array(meta), **self.to_arrays())
        tmp.replace(path)


def load_head(path: Path) -> tuple[EmbeddingHead, ClipSettings]:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("__meta")))
    if meta["kind"] not in HEADS:
        raise ModelNotFittedError(f"{path.name} holds an unknown head '{meta['kind']}'.")
    return HEADS[meta["kind"]].from_arrays(arrays), ClipSettings.from_dict(meta["settings"])


def _standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(0)
    std = x.std(0) + 1e-3  # the floor keeps near-constant dimensions from exploding
    return mean.astype(np.float32), std.astype(np.float32)


def _check_classes(labels: np.ndarray) -> None:
    if labels.sum() == 0 or labels.sum() == len(labels):
        raise DataError("Training this head needs both abnormal (1) and normal (0) videos.")


class LogisticHead(EmbeddingHead):
    kind = "movinet-logistic"
    C = 0.1  # L2 strength picked by grouped CV on the fight clips (0.01 and 0.1 within 0.003 AUC)

    def __init__(self, mean, std, coef, intercept):
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        self.coef, self.intercept = np.asarray(coef, np.float64), float(intercept)

    @classmethod
    def fit(cls, videos, labels, seed=0, progress=None) -> LogisticHead:
        from sklearn.linear_model import LogisticRegression

        labels = np.asarray(labels, int)
        _check_classes(labels)
        x = np.array([v.video_features() for v in videos])
        mean, std = _standardiser(x)
        clf = LogisticRegression(C=cls.C, max_iter=5000, random_state=seed).fit((x - mean) / std, labels)
        if progress:
            progress(1.0, "logistic head fitted")
        return cls(mean, std, clf.coef_[0], clf.intercept_[0])

    def _score(self, x: np.ndarray) -> np.ndarray:
        return _sigmoid(((x - self.mean) / self.std) @ self.coef + self.intercept)

    def window_scores(self, emb):
        if not len(emb):
            return np.zeros(0)
        return self._score(emb.window_features())

    def video_score(self, emb):
        # The head was fitted on whole-video features; score a video the same way.
        return float(self._score(emb.video_features())) if len(emb) else 0.0

    def to_arrays(self):
        return {"mean": self.mean, "std": self.std, "coef": self.coef, "intercept": np.array(self.intercept)}

    @classmethod
    def from_arrays(cls, a):
        return cls(a["mean"], a["std"], a["coef"], float(a["intercept"]))

    def params(self):
        return {"C": self.C}


class MilRankingHead(EmbeddingHead):
    kind = "movinet-mil"

    def __init__(self, mean, std, head):
        self.mean, self.std, self.head = np.asarray(mean, np.float32), np.asarray(std, np.float32), head

    @classmethod
    def fit(cls, videos, labels, seed=0, progress=None) -> MilRankingHead:
        from core.families.movinet.mil import train_mil

        labels = np.asarray(labels, int)
        _check_classes(labels)
        usable = [(v, y) for v, y in zip(videos, labels, strict=True) if len(v)]
        mean, std = _standardiser(np.concatenate([v.window_features() for v, _ in usable]))
        bags = [(v.window_features() - mean) / std for v, _ in usable]
        head, _ = train_mil(bags, [y for _, y in usable], seed=seed, progress=progress)
        return cls(mean, std, head)

    def window_scores(self, emb):
        import torch

        if not len(emb):
            return np.zeros(0)
        with torch.no_grad():
            x = torch.as_tensor((emb.window_features() - self.mean) / self.std, dtype=torch.float32)
            return self.head(x).numpy().astype(np.float64)

    def to_arrays(self):
        from core.families.movinet.mil import head_to_arrays

        return {"mean": self.mean, "std": self.std, **head_to_arrays(self.head)}

    @classmethod
    def from_arrays(cls, a):
        from core.families.movinet.mil import head_from_arrays

        return cls(a["mean"], a["std"], head_from_arrays(a))


class KnnNormality(EmbeddingHead):
    """Cosine kNN to normal windows. ``bank`` (M,480) unit vectors; ``ref`` the 0.5 calibration distance."""

    kind = "movinet-knn"
    needs = "normal"
    K = 5
    MAX_BANK = 6000
    REF_Q = 99.0

    def __init__(self, bank: np.ndarray, ref: float, k: int = K):
        self.bank, self.ref, self.k = np.asarray(bank, np.float32), float(ref), int(k)

    @staticmethod
    def _unit(x: np.ndarray) -> np.ndarray:
        return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-9)

    def _raw(self, x: np.ndarray, bank: np.ndarray) -> np.ndarray:
        d = 1.0 - self._unit(x) @ bank.T  # cosine distance (N, M)
        k = min(self.k, bank.shape[0])
        return np.partition(d, k - 1, axis=1)[:, :k].mean(1)

    @classmethod
    def fit(cls, videos, labels=None, seed=0, progress=None) -> KnnNormality:
        if labels is not None:
            videos = [v for v, y in zip(videos, labels, strict=True) if not y]
        videos = [v for v in videos if len(v)]
        if not videos:
            raise DataError("A normality model needs at least one normal video (label 0).")
        rng = np.random.default_rng(seed)
        owner = np.concatenate([np.full(len(v), i) for i, v in enumerate(videos)])
        bank = cls._unit(np.concatenate([v.vectors for v in videos]).astype(np.float32))
        if len(bank) > cls.MAX_BANK:
            keep = np.sort(rng.choice(len(bank), cls.MAX_BANK, replace=False))
            bank, owner = bank[keep], owner[keep]
        model = cls(bank, 1.0)
        # Calibrate on leave-one-video-out distances: a window is never its own (or its video's) neighbour.
        raws = []
        for i in np.unique(owner) if len(videos) > 1 else []:
            raws.append(model._raw(bank[owner == i], bank[owner != i]))
        raw = np.concatenate(raws) if raws else model._raw(bank, bank)
        model.ref = max(float(np.percentile(raw, cls.REF_Q)), 1e-6)
        if progress:
            progress(1.0, f"kNN bank of {len(bank)} normal windows")
        return model

    def window_scores(self, emb):
        if not len(emb):
            return np.zeros(0)
        return calibrate(self._raw(emb.vectors, self.bank), self.ref)

    def to_arrays(self):
        return {"bank": self.bank, "ref": np.array(self.ref), "k": np.array(self.k)}

    @classmethod
    def from_arrays(cls, a):
        return cls(a["bank"], float(a["ref"]), int(a["k"]))

    def params(self):
        return {"k": self.k, "bank_size": int(len(self.bank)), "ref": self.ref}


class KineticsHead(EmbeddingHead):
    """Zero-shot: summed softmax probability of chosen Kinetics-600 classes (indices into the label map)."""

    kind = "movinet-kinetics"

    def __init__(self, classes: Sequence[int]):
        self.classes = np.asarray(classes, int)

    @classmethod
    def fit(cls, videos, labels, seed=0, progress=None):
        raise DataError("The zero-shot Kinetics head is not trained.")

    def window_scores(self, emb):
        if not len(emb):
            return np.zeros(0)
        return np.clip(emb.probabilities()[:, self.classes].sum(1), 0.0, 1.0)

    def to_arrays(self):
        return {"classes": self.classes}

    @classmethod
    def from_arrays(cls, a):
        return cls(a["classes"])


HEADS: dict[str, type[EmbeddingHead]] = {h.kind: h for h in (LogisticHead, MilRankingHead, KnnNormality, KineticsHead)}


# --- streams and scorers -----------------------------------------------------------------------------
class ClipStream(ScoringStream):
    """One MoViNet interpreter per stream (TFLite interpreters are not thread-safe)."""

    def __init__(self, live: bool, weights: Path, settings: ClipSettings, head: EmbeddingHead):
        super().__init__(live)
        self.clipper = MovinetClipper(MovinetModel(weights), settings)
        self.head = head

    def update(self, t: float, frame: np.ndarray) -> float | None:
        self.clipper.update(t, frame)
        if not self.live:
            return None
        w = self.clipper.current()
        if w is None:
            return 0.0
        return float(self.head.window_scores(ClipEmbeddings.from_windows([w]))[0])

    def finish(self) -> np.ndarray:
        emb = self.clipper.finish()
        return emb.frame_scores(self.head.window_scores(emb))


class ClipScorer(Scorer):
    def __init__(self, spec: ModelSpec, weights: Path, settings: ClipSettings, head: EmbeddingHead):
        self.weights, self.settings, self.head = weights, settings, head
        self.info = ModelInfo(spec.name, spec.version, spec.description, "movinet-a0", preferred_fps=settings.fps)

    def stream(self, live: bool = False) -> ScoringStream:
        return ClipStream(live, self.weights, self.settings, self.head)


def build_trained(spec: ModelSpec, resolve) -> Scorer:
    artifact = spec.params.get("artifact")
    if not artifact:
        raise ModelNotFittedError(f"Model '{spec.name}' has no trained head file.")
    head, settings = load_head(resolve(artifact))
    return ClipScorer(spec, resolve(MOVINET_FILE), settings, head)


def build_kinetics(spec: ModelSpec, resolve) -> Scorer:
    classes = spec.params.get("classes")
    if not classes:
        raise ModelNotFittedError(f"Model '{spec.name}' names no Kinetics classes.")
    settings = ClipSettings.from_dict(spec.params.get("settings", {}))
    return ClipScorer(spec, resolve(MOVINET_FILE), settings, KineticsHead([int(c) for c in classes]))
