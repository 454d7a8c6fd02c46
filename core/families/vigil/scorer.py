"""The default model's stream: scene cuts -> per-shot cue streams -> calibrated fusion -> score + cause.

Per frame: the cut detector sees it first; on a cut every cue's stream is closed and a fresh one opened,
so each shot has its own baseline and nothing straddles a cut (flow, clip windows, object tracks). The
first frame of a shot has no motion and no clip window yet, so the score at a cut stays low.
Each cue gets frames at its own rate (``Cue.fps``); frames it skipped take its last score. The fused score
and the driving cue per frame come from ``Fusion.combine``; ``evidence(i)`` is the driving cue's evidence
with its cause (``Cue.cause`` when the cue's stream gives none).
"""

from __future__ import annotations

import numpy as np

from core.families.cuts.detector import CutDetector
from core.families.vigil.cues import Cue
from core.families.vigil.fusion import Fusion
from core.scorers.base import Evidence, ModelInfo, Scorer, ScoringStream


class _CueShot:
    """One cue's stream over one shot, with the frames it was fed (indices into the whole video)."""

    def __init__(self, cue: Cue, live: bool):
        self.cue = cue
        self.stream = cue.scorer.stream(live=live)
        self.fed: list[int] = []  # video frame index of each update
        self.next_t: float | None = None
        self.last = 0.0

    def due(self, t: float) -> bool:
        if self.cue.fps is None or self.next_t is None:
            return True
        return t + 1e-6 >= self.next_t

    def feed(self, index: int, t: float, frame: np.ndarray) -> None:
        out = self.stream.update(t, frame)
        self.fed.append(index)
        if self.cue.fps:
            step = 1.0 / self.cue.fps
            self.next_t = (self.next_t or t) + step
            if self.next_t < t:  # catch up after a gap
                self.next_t = t + step
        if out is not None:
            self.last = float(out)


class VigilStream(ScoringStream):
    def __init__(self, live: bool, cues: list[Cue], fusion: Fusion):
        super().__init__(live)
        self.cues, self.fusion = cues, fusion
        self.cut_detector = CutDetector()
        self.n = 0
        self.shot_start = 0
        self.shots: list[list[_CueShot]] = []
        self.current = self._open()
        # offline results, filled by finish(): (C, N) cue scores, driver (N,), per-cue evidence lookups
        self.cue_scores = np.zeros((len(cues), 0))
        self.driver = np.zeros(0, np.int64)
        self.fused = np.zeros(0)
        self._evidence: list[list[tuple[_CueShot, int] | None]] = []
        self._live_evidence = Evidence.empty()

    @property
    def cuts(self) -> list[float]:
        """Times (s) of the scene cuts found so far."""
        return self.cut_detector.cuts

    def _open(self) -> list[_CueShot]:
        return [_CueShot(c, self.live) for c in self.cues]

    def update(self, t: float, frame: np.ndarray) -> float | None:
        if self.cut_detector.update(t, frame):
            if not self.live:
                self.shots.append(self.current)
            self.current = self._open()
        for shot in self.current:
            if shot.due(t):
                shot.feed(self.n, t, frame)
        self.n += 1
        if not self.live:
            return None
        scores = {s.cue.name: np.array([s.last]) for s in self.current}
        fused, driver = self.fusion.combine(scores)
        if fused[0] <= 0:
            self._live_evidence = Evidence.empty()
        else:
            lead = self.current[int(driver[0])]
            ev = lead.stream.evidence(-1) if lead.fed else Evidence.empty()
            self._live_evidence = _with_cause(ev, lead.cue.cause)
        return float(fused[0])

    def finish(self) -> np.ndarray:
        shots = [*self.shots, self.current]
        n_cues = len(self.cues)
        scores = np.zeros((n_cues, self.n))
        refs: list[list[tuple[_CueShot, int] | None]] = [[None] * self.n for _ in range(n_cues)]
        for shot in shots:
            for c, cs in enumerate(shot):
                if not cs.fed:
                    continue
                s = np.asarray(cs.stream.finish(), dtype=np.float64)
                fed = np.array(cs.fed)
                if len(s) != len(fed):
                    raise RuntimeError(f"cue {cs.cue.name} returned {len(s)} scores for {len(fed)} frames")
                # every frame of the shot takes the score of the last fed frame at or before it
                nxt = [x.fed[0] for x in _later_shots(shots, shot, c) if x.fed]
                hi = nxt[0] if nxt else self.n
                for k, idx in enumerate(fed):
                    end = fed[k + 1] if k + 1 < len(fed) else hi
                    scores[c, idx:end] = s[k]
                    for j in range(idx, end):
                        refs[c][j] = (cs, k)
        self.cue_scores = scores
        fused, driver = self.fusion.combine({c.name: scores[i] for i, c in enumerate(self.cues)})
        self.fused, self.driver, self._evidence = fused, driver, refs
        return fused

    def evidence(self, index: int) -> Evidence:
        if self.live and index == -1:
            return self._live_evidence
        if not len(self.driver) or self.fused[index] <= 0:
            return Evidence.empty()
        c = int(self.driver[index])
        ref = self._evidence[c][index]
        if ref is None:
            return _with_cause(Evidence.empty(), self.cues[c].cause)
        cs, k = ref
        return _with_cause(cs.stream.evidence(k), cs.cue.cause)

    def cause_at(self, index: int) -> str:
        """The cause of frame ``index`` (offline, after finish)."""
        return self.evidence(index).cause

    def cue_causes(self) -> list[list[str]]:
        """(C, N) the cause each cue would give each frame (offline, after finish): what a fusion choice needs."""
        out = []
        for c, cue in enumerate(self.cues):
            row = []
            for ref in self._evidence[c]:
                row.append(cue.cause if ref is None else _with_cause(ref[0].stream.evidence(ref[1]), cue.cause).cause)
            out.append(row)
        return out


def _later_shots(shots: list[list[_CueShot]], shot: list[_CueShot], c: int) -> list[_CueShot]:
    i = next(k for k, s in enumerate(shots) if s is shot)
    return [s[c] for s in shots[i + 1 :]]


def _with_cause(ev: Evidence, cause: str) -> Evidence:
    if ev.cause:
        return ev
    return Evidence(ev.boxes, ev.keypoints, ev.culprit, cause)


class VigilScorer(Scorer):
    """Cues + fusion. Thread-safe to share: streams hold all per-video state."""

    def __init__(self, info: ModelInfo, cues: list[Cue], fusion: Fusion):
        if not cues:
            raise ValueError("the default model needs at least one cue")
        self.info, self.cues, self.fusion = info, cues, fusion

    @property
    def cue_names(self) -> list[str]:
        return [c.name for c in self.cues]

    def stream(self, live: bool = False) -> VigilStream:
        return VigilStream(live, self.cues, self.fusion)
