"""The default model's stream: scene cuts -> per-shot cue streams -> calibrated fusion -> score + cause.

Per frame: the cut detector sees it first; on a cut every cue's stream is closed and a fresh one opened (or, for
a stream with ``cut``, told), so each shot has its own baseline and nothing straddles a cut (flow, clip windows,
object tracks). At a camera jump (one camera's clips joined) a stream whose ``cut`` takes ``same_scene`` (the
objects cue) keeps its baseline and restarts only what links frames. The first frame of a shot has no motion and
no clip window yet, so the score at a cut stays low.
Each cue gets frames at its own rate (``Cue.fps``); frames it skipped take its last score. The fused score
and the driving cue per frame come from ``Fusion.combine``; ``evidence(i)`` is the driving cue's evidence
with its cause (``Cue.cause`` when the cue's stream gives none).

A cue with ``Cue.own_thread`` runs on a thread of its own (``_Lane``): its stream gets exactly the calls, in the
same order, it would get on the caller's thread, so every score is the same. Offline the lane runs up to
``LANE_DEPTH`` frames behind (a pipeline; ``finish`` waits for it); live each frame waits for it (fork-join), so
the live score still covers every cue of that frame.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from core.families.cuts.detector import CutDetector
from core.families.vigil.cues import Cue
from core.families.vigil.fusion import Fusion
from core.scorers.base import Evidence, ModelInfo, Scorer, ScoringStream

LANE_DEPTH = 16  # offline: frames a lane may lag behind (16 x 640x480 BGR = 15 MB at most held)
# what the chart and exports call each fusion input (a cue may give several: objects gives two)
INPUT_LABELS = {"objects": "moving objects", "person_down": "person down", "fight": "fight", "motion": "motion"}


class _Lane:
    """One cue's stream calls on one thread of their own, run in the order submitted.

    At most ``depth`` calls wait; ``submit`` blocks beyond that. A failed call's error is raised by a later
    ``submit`` or by ``drain``. The thread ends with ``close`` (or when the lane is garbage-collected).
    """

    def __init__(self, name: str, depth: int = LANE_DEPTH):
        self.depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"vigil-{name}")
        self._pending: deque[Future] = deque()

    def submit(self, fn: Callable, *args) -> Future:
        while self._pending and (len(self._pending) >= self.depth or self._pending[0].done()):
            self._pending.popleft().result()  # re-raises the call's error here
        fut = self._pool.submit(fn, *args)
        self._pending.append(fut)
        return fut

    def drain(self) -> None:
        """Wait for every call submitted so far."""
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _CueShot:
    """One cue's stream over one shot (or over the whole video when the stream handles cuts itself, i.e. has
    ``cut(t)``), with the frames it was fed (indices into the whole video)."""

    def __init__(self, cue: Cue, live: bool):
        self.cue = cue
        self.stream = cue.scorer.stream(live=live)
        self.fed: list[int] = []  # video frame index of each update
        self.next_t: float | None = None
        self.last = 0.0
        self.last_scores: dict[str, float] = {}

    @property
    def handles_cuts(self) -> bool:
        return callable(getattr(self.stream, "cut", None))

    def cut(self, t: float, lane: _Lane | None = None, jump: bool = False) -> None:
        self.next_t = None
        if lane is None:
            self._stream_cut(t, jump)
        else:
            lane.submit(self._stream_cut, t, jump)

    def _stream_cut(self, t: float, jump: bool) -> None:
        # cues take the cut's time and kind (``cut(t, same_scene=)``), its time, or only the news of it
        params = inspect.signature(self.stream.cut).parameters
        if "same_scene" in params:
            self.stream.cut(t, same_scene=jump)
        elif params:
            self.stream.cut(t)
        else:
            self.stream.cut()

    def due(self, t: float) -> bool:
        if self.cue.fps is None or self.next_t is None:
            return True
        return t + 1e-6 >= self.next_t

    def feed(self, index: int, t: float, frame: np.ndarray, lane: _Lane | None = None) -> Future | None:
        """Give the stream one frame, here or on ``lane``; then the lane's future must go to ``take``."""
        self.fed.append(index)
        if self.cue.fps:
            step = 1.0 / self.cue.fps
            self.next_t = (self.next_t or t) + step
            if self.next_t < t:  # catch up after a gap
                self.next_t = t + step
        if lane is not None:
            return lane.submit(self.stream.update, t, frame)
        self.take(self.stream.update(t, frame))
        return None

    def take(self, out: float | None) -> None:
        """The stream's answer to one update (live: its score so far)."""
        if out is not None:
            self.last = float(out)
            multi = getattr(self.stream, "cue_scores", None)
            if callable(multi):
                self.last_scores = {k: float(v[-1]) if len(v) else 0.0 for k, v in multi().items()}

    def outputs(self) -> dict[str, np.ndarray]:
        """Offline, after the stream finished: {fusion input name: (len(fed),) scores 0..1}."""
        total = np.asarray(self.stream.finish(), dtype=np.float64)
        if len(total) != len(self.fed):
            raise RuntimeError(f"cue {self.cue.name} returned {len(total)} scores for {len(self.fed)} frames")
        multi = getattr(self.stream, "cue_scores", None)
        if callable(multi):
            return {k: np.asarray(v, dtype=np.float64) for k, v in multi().items()}
        return {self.cue.name: total}

    def live_outputs(self) -> dict[str, float]:
        return self.last_scores or {self.cue.name: self.last}


class VigilStream(ScoringStream):
    def __init__(self, live: bool, cues: list[Cue], fusion: Fusion, threads: bool = True):
        super().__init__(live)
        self.cues, self.fusion = cues, fusion
        # one lane per cue that asks for its own thread (``threads`` False: everything on the caller's thread)
        self.lanes: dict[str, _Lane] = {c.name: _Lane(c.name) for c in cues if threads and c.own_thread}
        self.cut_detector = CutDetector()
        self.n = 0
        self.runs: list[_CueShot] = []  # every cue stream ever opened (offline), in order
        self.current = [self._open(c) for c in cues]
        # offline results, filled by finish(): {input: (N,)} scores, names, driver (N,), evidence lookups
        self.input_names: list[str] = []
        self.cue_scores = np.zeros((0, 0))
        self.driver = np.zeros(0, np.int64)
        self.fused = np.zeros(0)
        self._evidence: list[list[tuple[_CueShot, int] | None]] = []
        self._live_evidence = Evidence.empty()

    @property
    def cuts(self) -> list[float]:
        """Times (s) of the shot boundaries found so far: scene cuts and camera jumps."""
        return self.cut_detector.cuts

    def _open(self, cue: Cue) -> _CueShot:
        run = _CueShot(cue, self.live)
        if not self.live:
            self.runs.append(run)
        return run

    def update(self, t: float, frame: np.ndarray) -> float | None:
        if self.cut_detector.update(t, frame):
            for k, run in enumerate(self.current):
                if run.handles_cuts:
                    run.cut(t, self.lanes.get(run.cue.name), self.cut_detector.last_jump)
                else:
                    self.current[k] = self._open(run.cue)
        # lanes first, so their cues work while this thread runs the others
        order = sorted(self.current, key=lambda r: r.cue.name not in self.lanes)
        waiting = [(run, run.feed(self.n, t, frame, self.lanes.get(run.cue.name))) for run in order if run.due(t)]
        self.n += 1
        if not self.live:
            return None
        for run, fut in waiting:
            if fut is not None:
                run.take(fut.result())
        scores: dict[str, np.ndarray] = {}
        owner: list[_CueShot] = []
        for run in self.current:
            for name, v in run.live_outputs().items():
                scores[name] = np.array([v])
                owner.append(run)
        fused, driver = self.fusion.combine(scores)
        if fused[0] <= 0:
            self._live_evidence = Evidence.empty()
        else:
            lead = owner[int(driver[0])]
            ev = lead.stream.evidence(-1) if lead.fed else Evidence.empty()
            self._live_evidence = _with_cause(ev, lead.cue.cause)
        return float(fused[0])

    def finish(self) -> np.ndarray:
        for lane in self.lanes.values():
            lane.drain()
            lane.close()
        inputs: dict[str, np.ndarray] = {}
        refs: dict[str, list[tuple[_CueShot, int] | None]] = {}
        # runs of one cue in time order; each frame takes the score of the last fed frame at or before it
        for cue in self.cues:
            runs = [r for r in self.runs if r.cue is cue and r.fed]
            for j, run in enumerate(runs):
                outs = run.outputs()
                fed = run.fed
                hi = runs[j + 1].fed[0] if j + 1 < len(runs) else self.n
                for name, s in outs.items():
                    row = inputs.setdefault(name, np.zeros(self.n))
                    ref = refs.setdefault(name, [None] * self.n)
                    for k, idx in enumerate(fed):
                        end = fed[k + 1] if k + 1 < len(fed) else hi
                        row[idx:end] = s[k]
                        for i in range(idx, end):
                            ref[i] = (run, k)
        self.input_names = list(inputs)
        self.cue_scores = np.array([inputs[n] for n in self.input_names]).reshape(len(inputs), self.n)
        fused, driver = self.fusion.combine(inputs)
        self._evidence = [refs[n] for n in self.input_names]
        self.fused, self.driver = (fused, driver) if len(inputs) else (np.zeros(self.n), np.zeros(self.n, np.int64))
        return self.fused

    def evidence(self, index: int) -> Evidence:
        if self.live and index == -1:
            return self._live_evidence
        if not len(self.driver) or self.fused[index] <= 0:
            return Evidence.empty()
        ref = self._evidence[int(self.driver[index])][index]
        if ref is None:
            return Evidence.empty()
        run, k = ref
        return _with_cause(run.stream.evidence(k), run.cue.cause)

    def parts(self) -> dict[str, np.ndarray]:
        """{cue label: (N,)} each fusion input's share of the score (``Fusion.contributions``), offline."""
        if not self.input_names:
            return {}
        inputs = dict(zip(self.input_names, self.cue_scores, strict=True))
        return {INPUT_LABELS.get(n, n): c for n, c in self.fusion.contributions(inputs).items()}

    def cause_at(self, index: int) -> str:
        """The cause of frame ``index`` (offline, after finish)."""
        return self.evidence(index).cause

    def cue_causes(self) -> list[list[str]]:
        """(C, N) per fusion input, the cause it would give each frame (offline, after finish)."""
        out = []
        for refs in self._evidence:
            out.append(
                ["" if r is None else _with_cause(r[0].stream.evidence(r[1]), r[0].cue.cause).cause for r in refs]
            )
        return out


def _with_cause(ev: Evidence, cause: str) -> Evidence:
    if ev.cause:
        return ev
    return Evidence(ev.boxes, ev.keypoints, ev.culprit, cause)


class VigilScorer(Scorer):
    """Cues + fusion. Thread-safe to share: streams hold all per-video state."""

    def __init__(self, info: ModelInfo, cues: list[Cue], fusion: Fusion, threads: bool = True):
        """``threads`` False runs every cue on the caller's thread (same scores; for tests and benchmarks)."""
        if not cues:
            raise ValueError("the default model needs at least one cue")
        self.info, self.cues, self.fusion, self.threads = info, cues, fusion, threads

    def stream(self, live: bool = False) -> VigilStream:
        return VigilStream(live, self.cues, self.fusion, self.threads)
