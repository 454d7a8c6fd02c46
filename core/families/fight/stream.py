"""The fight head on video: a ``Scorer`` whose streams run MoViNet-A0 once per test view.

Offline, ``finish`` returns one calibrated score per update: the max (or mean) of the windows covering
that frame, test views averaged in logit space -- the same numbers ``FightHead.frame_scores`` gives from
cached windows. Live, ``update`` returns the score of the most mature running window (causal).
``evidence(i)`` is ``Evidence(cause="fight")`` when the score at ``i`` is at least ``EVIDENCE_LINE``
(MoViNet sees the whole frame, so no box is named). ``cut()`` tells the stream a scene cut happened
before the next frame: no window then spans two scenes (a join of two calm clips looks like violent motion),
and a head fitted with ``deborder`` starts a new estimate of the black bars it cuts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.families.fight.head import FightHead
from core.families.fight.views import VIEWS
from core.families.movinet.borders import BorderCrop
from core.families.movinet.features import ClipEmbeddings, MovinetClipper, MovinetModel
from core.scorers.base import Evidence, ModelInfo, Scorer, ScoringStream

EVIDENCE_LINE = 0.5  # a calibrated window score at or above this is "a fight as likely as not"
FIGHT_CAUSE = "fight"


class CutAwareClipper(MovinetClipper):
    """``MovinetClipper`` whose window grid restarts at a scene cut: running windows end there (kept when
    they have at least ``min_steps`` steps, like a video's tail) and a new window starts on the next frame."""

    def cut(self) -> None:
        keep = [r for r in self.running if r.steps >= self.settings.min_steps]
        self.done.extend(self._window(r) for r in keep)
        self.done.sort(key=lambda w: w.start)
        self.running = []
        self._grid = 0


class FightStream(ScoringStream):
    """One MoViNet interpreter per stream (TFLite interpreters are not thread-safe), one clipper per view."""

    def __init__(self, live: bool, weights: Path, head: FightHead, num_threads: int = 2):
        super().__init__(live)
        self.head = head
        model = MovinetModel(weights, num_threads=num_threads)
        self.clippers = {v: CutAwareClipper(model, head.config.settings) for v in head.config.test_views}
        self.borders = BorderCrop() if head.config.deborder else None  # per shot: reset at a cut
        self._scores: list[float] = []
        self._final: np.ndarray | None = None

    def update(self, t: float, frame: np.ndarray) -> float | None:
        if self.borders is not None:
            frame = self.borders(frame)
        for v, c in self.clippers.items():
            c.update(t, VIEWS[v](frame))
        if not self.live:
            return None
        windows = {v: c.current() for v, c in self.clippers.items()}
        if any(w is None for w in windows.values()):
            score = 0.0
        else:
            score = float(self.head.window_scores({v: ClipEmbeddings.from_windows([w]) for v, w in windows.items()})[0])
        self._scores.append(score)
        return score

    def cut(self) -> None:
        """A scene cut lies between the last frame and the next one."""
        for c in self.clippers.values():
            c.cut()
        if self.borders is not None:
            self.borders.reset()  # the next shot may have other bars

    def finish(self) -> np.ndarray:
        views = {v: c.finish() for v, c in self.clippers.items()}
        first = views[self.head.config.test_views[0]]
        self._final = self.head.frame_scores(views) if len(first) else np.zeros(len(first.frame_t))
        return self._final

    def evidence(self, index: int) -> Evidence:
        scores = self._final if (self._final is not None and not self.live) else np.asarray(self._scores)
        if not len(scores) or not (-len(scores) <= index < len(scores)):
            return Evidence.empty()
        return Evidence(cause=FIGHT_CAUSE) if scores[index] >= EVIDENCE_LINE else Evidence.empty()


class FightScorer(Scorer):
    """A loaded fight head plus the MoViNet weights path; shared across threads (streams hold the state)."""

    def __init__(self, name: str, version: str, description: str, weights: Path, head: FightHead, num_threads: int = 2):
        """``num_threads``: TFLite's threads per stream (the int8 kernels give the same numbers at any count)."""
        self.weights, self.head, self.num_threads = Path(weights), head, num_threads
        self.info = ModelInfo(name, version, description, "movinet-a0", preferred_fps=head.config.fps)

    def stream(self, live: bool = False) -> ScoringStream:
        return FightStream(live, self.weights, self.head, self.num_threads)
