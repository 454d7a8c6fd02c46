"""Clip featurizer: MoViNet-A0 stream (TFLite, ai-edge-litert), about 5 frames/s, one embedding per window.

MoViNet-A0 *stream* takes one RGB frame [1,1,172,172,3] in [0,1] per call and carries 43 state tensors
from call to call. Its squeeze-excite layers average over *all* frames since the state was reset, so a
stream left running for an hour would see a context no training clip ever had. We therefore cut the
stream into overlapping windows of ``window`` steps, started every ``hop`` steps, each with its own
freshly zeroed state (at most ``ceil(window / hop)`` states run side by side, one interpreter call each).
A window's embedding is ``state_head_pool_buffer / state_head_pool_frame_count``: the 480-d mean of the
head features over its frames; its logits are the Kinetics-600 classification of that window.

Value objects: ``ClipWindow`` (one window) and ``ClipEmbeddings`` (all windows of one video).
``MovinetClipper`` is the per-stream state (one TFLite interpreter, never shared across threads).
``embed_video`` extracts a video's windows with a per-video cache (sha256 + settings) under
``$VIGIL_DATA_DIR/features/`` so retraining from the Label page does not decode every video again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from core.config import data_dir
from core.families.movinet import MOVINET_FILE  # noqa: F401 (the weights, named once in the package)
from core.features.cache import NpzRecord

SIDE = 172
EMBED_DIM = 480
N_CLASSES = 600
FEATURE_VERSION = "1"  # bump when the extraction changes, so cached features are recomputed


@dataclass(frozen=True)
class ClipSettings:
    """How a video is cut into windows. fps: sampling rate (Hz); window/hop: in steps (frames at fps)."""

    fps: float = 5.0
    window: int = 8
    hop: int = 4
    resize: str = "squash"  # "squash" keeps the whole field of view; "crop" a centre square
    # black bars cut before the views (core.families.movinet.borders); applied by the callers that own a
    # shot's frames (embed_views, FightStream), not by the clipper
    deborder: bool = False

    def __post_init__(self):
        if not (0.5 <= self.fps <= 30):
            raise ValueError(f"fps must be in 0.5..30, got {self.fps}")
        if self.window < 1 or not (1 <= self.hop <= self.window):
            raise ValueError(f"need window >= 1 and 1 <= hop <= window, got {self.window}/{self.hop}")
        if self.resize not in ("squash", "crop"):
            raise ValueError(f"resize must be 'squash' or 'crop', got {self.resize!r}")

    @property
    def min_steps(self) -> int:
        """A trailing partial window counts only with at least this many steps (half a window)."""
        return max(1, self.window // 2)

    def key(self) -> str:
        d = {k: v for k, v in self.__dict__.items() if k != "deborder" or v}  # older keys stay valid
        blob = json.dumps({**d, "v": FEATURE_VERSION}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict) -> ClipSettings:
        return cls(**{k: d[k] for k in ("fps", "window", "hop", "resize", "deborder") if k in d})


@dataclass(frozen=True)
class ClipWindow:
    """One window. start/end: seconds of its first/last frame; steps: frames it saw;
    embedding (480,) float32; logits (600,) float32 (Kinetics-600 order)."""

    start: float
    end: float
    steps: int
    embedding: np.ndarray
    logits: np.ndarray

    def __post_init__(self):
        if self.embedding.shape != (EMBED_DIM,):
            raise ValueError(f"embedding must be ({EMBED_DIM},), got {self.embedding.shape}")
        if self.logits.shape != (N_CLASSES,):
            raise ValueError(f"logits must be ({N_CLASSES},), got {self.logits.shape}")
        if self.end < self.start or self.steps < 1:
            raise ValueError("a window needs end >= start and at least one step")


@dataclass(frozen=True)
class ClipEmbeddings(NpzRecord):
    """All windows of one video, in time order. Shapes: start, end (W,) s; steps (W,) int;
    vectors (W,480) float32; logits (W,600) float32; frame_t (N,) s = every sampled frame's time."""

    start: np.ndarray
    end: np.ndarray
    steps: np.ndarray
    vectors: np.ndarray
    logits: np.ndarray
    frame_t: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self):
        w = len(self.start)
        if self.vectors.shape != (w, EMBED_DIM) or self.logits.shape != (w, N_CLASSES):
            raise ValueError(f"vectors/logits must be ({w},{EMBED_DIM})/({w},{N_CLASSES})")
        if self.end.shape != (w,) or self.steps.shape != (w,):
            raise ValueError("start, end and steps must have one entry per window")

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def empty(cls) -> ClipEmbeddings:
        return cls.from_windows([])

    @classmethod
    def from_windows(cls, windows: list[ClipWindow], frame_t=()) -> ClipEmbeddings:
        return cls(
            start=np.array([w.start for w in windows], np.float64),
            end=np.array([w.end for w in windows], np.float64),
            steps=np.array([w.steps for w in windows], np.int32),
            vectors=np.array([w.embedding for w in windows], np.float32).reshape(-1, EMBED_DIM),
            logits=np.array([w.logits for w in windows], np.float32).reshape(-1, N_CLASSES),
            frame_t=np.asarray(frame_t, np.float64),
        )

    def video_vector(self) -> np.ndarray:
        """(480,) step-weighted mean of the windows: the whole video in one vector."""
        if not len(self):
            raise ValueError("no windows")
        w = self.steps.astype(np.float64)
        return (self.vectors * w[:, None]).sum(0).astype(np.float32) / w.sum()

    def probabilities(self) -> np.ndarray:
        """(W,600) Kinetics-600 softmax per window."""
        z = self.logits - self.logits.max(1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(1, keepdims=True)

    def window_features(self) -> np.ndarray:
        """(W,1080): embedding | log Kinetics probabilities. The action log-probabilities add what the
        classifier already knows (punching, wrestling...) to the appearance-and-motion embedding."""
        return np.concatenate([self.vectors, np.log(self.probabilities() + 1e-6)], 1).astype(np.float32)

    def video_features(self) -> np.ndarray:
        """(1080,): step-weighted mean embedding | log of the step-weighted mean probabilities."""
        w = self.steps.astype(np.float64)[:, None]
        p = (self.probabilities() * w).sum(0) / w.sum()
        return np.concatenate([self.video_vector(), np.log(p + 1e-6)]).astype(np.float32)

    def frame_scores(self, window_scores: np.ndarray) -> np.ndarray:
        """Per sampled frame (N,): the highest score among the windows that cover it (0 if none)."""
        out = np.zeros(len(self.frame_t))
        for s, a, b in zip(window_scores, self.start, self.end, strict=True):
            m = (self.frame_t >= a - 1e-6) & (self.frame_t <= b + 1e-6)
            out[m] = np.maximum(out[m], s)
        # Frames after the last complete window (a too-short tail) take the last window's score.
        if len(window_scores) and len(out):
            last = self.frame_t > self.end.max() + 1e-6
            out[last] = window_scores[int(np.argmax(self.end))]
        return out


def preprocess(frame: np.ndarray, resize: str = "squash") -> np.ndarray:
    """BGR uint8 (H,W,3) -> RGB float32 (1,1,172,172,3) in [0,1]."""
    if resize == "crop":
        h, w = frame.shape[:2]
        s = min(h, w)
        y, x = (h - s) // 2, (w - s) // 2
        frame = frame[y : y + s, x : x + s]
    img = cv2.resize(frame, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    return img[None, None]


class MovinetModel:
    """One TFLite interpreter for MoViNet-A0 stream. Not thread-safe: one per stream/thread."""

    def __init__(self, path: str | Path, num_threads: int = 2):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(str(path), num_threads=num_threads)
        self.runner = self.interpreter.get_signature_runner()
        self._inputs = {k: v for k, v in self.runner.get_input_details().items() if k != "image"}

    def zero_state(self) -> dict[str, np.ndarray]:
        return {k: np.zeros(v["shape"], v["dtype"]) for k, v in self._inputs.items()}

    def step(self, image: np.ndarray, state: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """image (1,1,172,172,3) -> (logits (600,), next state)."""
        out = self.runner(image=image, **state)
        logits = out.pop("logits")[0]
        return logits, {k: out[k] for k in self._inputs}

    @staticmethod
    def embedding(state: dict[str, np.ndarray]) -> np.ndarray:
        count = max(int(state["state_head_pool_frame_count"][0]), 1)
        return (state["state_head_pool_buffer"].reshape(EMBED_DIM) / count).astype(np.float32)


@dataclass
class _Running:
    start: float
    state: dict
    steps: int = 0
    end: float = 0.0
    logits: np.ndarray | None = None


class MovinetClipper:
    """Per-stream windowing over MoViNet. ``update`` consumes frames at ``settings.fps``.

    Windows start every ``hop`` frames; each sees ``window`` frames from its own zeroed state.
    """

    def __init__(self, model: MovinetModel, settings: ClipSettings | None = None):
        self.model = model
        self.settings = settings or ClipSettings()
        self.running: list[_Running] = []
        self.done: list[ClipWindow] = []
        self.frame_t: list[float] = []
        self._grid = 0  # frames since the window grid started (a subclass may restart it)

    def _window(self, r: _Running) -> ClipWindow:
        assert r.logits is not None
        return ClipWindow(r.start, r.end, r.steps, MovinetModel.embedding(r.state), r.logits.astype(np.float32))

    def update(self, t: float, frame: np.ndarray) -> list[ClipWindow]:
        """One BGR frame at ``t`` s. Returns the windows completed by it (usually none or one)."""
        s = self.settings
        if self._grid % s.hop == 0:
            self.running.append(_Running(t, self.model.zero_state()))
        self._grid += 1
        self.frame_t.append(t)
        image = preprocess(frame, s.resize)
        finished = []
        for r in self.running:
            r.logits, r.state = self.model.step(image, r.state)
            r.steps += 1
            r.end = t
            if r.steps >= s.window:
                finished.append(self._window(r))
        self.running = [r for r in self.running if r.steps < s.window]
        self.done.extend(finished)
        return finished

    def current(self) -> ClipWindow | None:
        """The most mature window so far (partial or just completed): the live, causal view."""
        best = max(self.running, key=lambda r: r.steps, default=None)
        if best is not None and (best.steps >= self.settings.min_steps or not self.done):
            return self._window(best)
        return self.done[-1] if self.done else None

    def finish(self) -> ClipEmbeddings:
        """All complete windows, plus trailing partial ones with enough steps (or the longest one
        when the video is shorter than a window)."""
        windows = list(self.done)
        partial = [r for r in self.running if r.steps >= self.settings.min_steps]
        if not windows and not partial and self.running:
            partial = [max(self.running, key=lambda r: r.steps)]
        windows += [self._window(r) for r in partial]
        windows.sort(key=lambda w: w.start)
        return ClipEmbeddings.from_windows(windows, self.frame_t)


# --- offline extraction with a cache ------------------------------------------------------------------
ProgressFn = Callable[[float, str], None]


def features_dir() -> Path:
    return data_dir() / "features"


def embed_video(
    source,
    weights: Path,
    settings: ClipSettings | None = None,
    model: MovinetModel | None = None,
    max_side: int = 640,
    cache: bool = True,
) -> ClipEmbeddings:
    """Windows of one ``VideoSource``, cached by (video sha256, settings, weights file name)."""
    settings = settings or ClipSettings()
    path = features_dir() / f"movinet-{settings.key()}" / f"{source.sha256}.npz"
    if cache and path.is_file():
        try:
            return ClipEmbeddings.load(path)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is recomputed
    clipper = MovinetClipper(model or MovinetModel(weights), settings)
    for fr in source.frames(fps=settings.fps, max_side=max_side):
        clipper.update(fr.t, fr.image)
    emb = clipper.finish()
    if cache and len(emb):
        emb.save(path)
    return emb
