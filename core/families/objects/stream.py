"""The objects cue and the person-down cue as one scoring stream.

Stream API (what the fused default detector plugs into; ``ObjectsStream``):

- ``update(t, frame) -> float | None``: one BGR (or grey) uint8 frame at ``t`` s. Live: the causal
  combined score 0..1 at once (the self-referenced objects cue is 0 for the first ``MIN_SHOT_S`` = 4 s of
  a shot, while its baseline, the last 60 s, warms up; a live stream keeps the last 256 frames' evidence).
  Offline: None (scores come from ``finish``). ~4-5 ms CPU a 640x480 frame for both cues.
- ``finish() -> (N,) float``: offline, one combined score per ``update``: max(objects, person down).
- ``cue_scores() -> {"objects": (N,), "person_down": (N,)}``: the two cues apart, each calibrated
  0..1 (offline after ``finish``; live the scores returned so far).
- ``evidence(i) -> Evidence``: for the ``i``-th update (-1 = latest): ``boxes`` (K,4) xyxy px of the
  frame given to ``update`` (the frame's moving objects, plus the fallen person's box), ``culprit`` the
  row that drove the score, ``cause`` one of "fast object", "unusual object", "object moving against
  the flow", "crowd dispersal", "person down" ("" when nothing moved).
- ``cut(t)``: a scene cut at ``t`` s (call it before the first frame of the new shot). The flow, the
  background model and the tracks restart, and the self-referenced baseline restarts: offline each shot
  between cuts is compared with itself (a shot shorter than ``MIN_SHOT_S`` gets no self-referenced
  score, only the scene-fitted one when a scene was fitted; a longer one with fewer than
  ``MIN_SHOT_OBJECTS`` objects is compared with the whole video); live the trailing window is emptied and
  warms up again. ``cut(t, same_scene=True)``: a *camera jump* (one camera's clips joined): the flow and
  the tracks restart (nothing is linked across it) but the baseline and the background model stay, since
  the objects on either side are of one scene.
  ``reset()`` is ``cut`` at the next frame.

Scores. Each moving object gets ``a = z_speed + w_size * z_size`` (robust standard deviations above
the usual object, see ``norms``), averaged along the object's track (``tracks``: 5 observations
centred offline, the last 3 live), the frame takes its strangest object, and a short average of the
frame value (0.5 s centred offline; trailing 0.3 s live) steadies it. ``objects = calibrate(a, ref)``:
- self-referenced (``objects``): ``ref = REF_SELF`` = 2.8, the 99th percentile of frame values on
  normal walkway footage (UCSD Ped2 training clips, each against itself). 0.5 = "as unusual, compared
  with this video's other moving objects, as the top 1 % of moments in normal footage"; 0.75 twice that.
- scene-fitted (``objects-fitted``): the value against the scene's normal objects plus half the value
  against the video's own objects; ``ref`` = the 99th percentile of the frame values of the normal
  footage it was fitted on, each video also against itself (stored in the artifact): 0.5 = "as unusual
  as the top 1 % of this scene's normal moments".
Person down: see ``falls`` (0.5 = has lain 1 s after standing).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np

from core.events import smooth
from core.families.objects.falls import HOLD_S, PersonDownDetector
from core.families.objects.norms import ObjectNorms, ObjectTable
from core.families.objects.regions import MovingObjects, RegionExtractor
from core.families.objects.tracks import TrackLinker, track_mean
from core.scorers.base import Evidence, ModelInfo, Scorer, ScoringStream, calibrate

REF_SELF = 2.8  # the 99th percentile of frame values on UCSD Ped2 training clips, each against itself
W_SIZE_SELF = 1.0
SPEED_POWER_SELF = 0.5
# Scene-fitted value = against the scene + 0.5 x against the video itself (+0.007 frame AUC on the Ped2
# development clips over the scene alone; 0.25 and 1.0 were within 0.003).
W_SELF_FITTED = 0.5
TRACK_HALF = 2  # offline: an object's value is its track's mean over -2..+2 observations
LIVE_TRACK_N = 3  # live: the mean over its last 3 observations
SMOOTH_S = 0.5  # offline centred average of the frame value (s)
LIVE_SMOOTH_S = 0.3
LIVE_WINDOW_S = 60.0
LIVE_REFIT_S = 1.0
LIVE_KEEP = 256  # frames of objects and evidence a live stream keeps (evidence(-1) is the latest)
MIN_SHOT_OBJECTS = 50
# Why: a shot shorter than this is too short a baseline for itself (a 2 s clip of a compilation: any lively
# normal object looks unusual) and no other shot of another scene is a fair one, so it gets no self-referenced
# score (chosen on the realistic uploads' tune split over 3/4/6 s and against pooling the whole video).
MIN_SHOT_S = 4.0
LIVE_WARMUP_S = MIN_SHOT_S  # live: the first MIN_SHOT_S of a shot warm its baseline up
# Direction counts in the cause only (not the score: it cost frame AUC on the development clips) and
# only for an object that is also fast or big, whose direction its cell has seen < 3 % of the time.
DIR_RARE = -np.log10(0.03)
DISPERSAL_MIN = 3  # objects fleeing at once
DISPERSAL_Z = 2.0


class FittedScene:
    """A scene's normal objects (``ObjectNorms`` with a grid) and its calibration reference."""

    def __init__(self, norms: ObjectNorms, ref: float, w_size: float = 0.5):
        self.norms, self.ref, self.w_size = norms, float(ref), float(w_size)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, ref=self.ref, w_size=self.w_size, **self.norms.arrays())
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> FittedScene:
        with np.load(path) as z:
            return cls(ObjectNorms.from_arrays(z), float(z["ref"]), float(z["w_size"]))


def object_values(norms: ObjectNorms, table: ObjectTable, w_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Per object (M,): anomaly value ``z_speed + w_size * z_size`` and cause index into ``_CAUSES``."""
    sp, sz, rare = norms.z(table)
    value = sp + w_size * sz
    cause = np.where(sp >= w_size * sz, 0, 1)
    cause = np.where((rare >= DIR_RARE) & (value > 1.0), 2, cause)
    return value, cause


_CAUSES = ("fast object", "unusual object", "object moving against the flow", "crowd dispersal")


def scored_objects(
    table: ObjectTable, scene: FittedScene | None, own: ObjectNorms | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per object (M,): value, cause index, speed z of the leading reference.

    Self-referenced: the value against the video's own objects (``own``). Scene-fitted: the value against
    the scene's normal objects plus ``W_SELF_FITTED`` times the value against the video's own objects
    (when ``own`` is known), so a scene model also sees what is odd *today*; the cause is the scene's.
    """
    if scene is None:
        if own is None:
            z = np.zeros(len(table))
            return z, z.astype(int), z
        v, c = object_values(own, table, W_SIZE_SELF)
        return v, c, own.z(table)[0]
    v, c = object_values(scene.norms, table, scene.w_size)
    if own is not None:
        v = v + W_SELF_FITTED * object_values(own, table, W_SIZE_SELF)[0]
    return v, c, scene.norms.z(table)[0]


def frame_values(values: np.ndarray, frame: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame (n,): the strangest object's value (0 when none) and its row in the table (-1)."""
    out = np.zeros(n)
    arg = np.full(n, -1)
    if len(values):
        order = np.lexsort((values, frame))  # by frame, then value: the last of each frame is its max
        last = np.r_[frame[order][1:] != frame[order][:-1], True]
        rows = order[last]
        out[frame[rows]] = values[rows]
        arg[frame[rows]] = rows
    return out, arg


def _dispersal(objs: MovingObjects, sp: np.ndarray) -> bool:
    """Several fast objects moving away from their common centre at once."""
    fast = sp >= DISPERSAL_Z
    if fast.sum() < DISPERSAL_MIN:
        return False
    centre = np.array([(objs.boxes[fast, 0] + objs.boxes[fast, 2]).mean() / 2, objs.boxes[fast, 3].mean()])
    out = np.stack([(objs.boxes[fast, 0] + objs.boxes[fast, 2]) / 2, objs.boxes[fast, 3]], 1) - centre
    v = objs.velocity[fast]
    cos = (out * v).sum(1) / np.maximum(np.linalg.norm(out, axis=1) * np.linalg.norm(v, axis=1), 1e-9)
    return bool(np.mean(cos > 0.5) >= 0.75)


class ObjectsStream(ScoringStream):
    """See the module docstring. ``scene`` None = self-referenced; ``person_down`` False skips that cue."""

    def __init__(self, live: bool, scene: FittedScene | None = None, person_down: bool = True, objects: bool = True):
        super().__init__(live)
        self.scene, self.use_objects, self.use_down = scene, objects, person_down
        self.regions = RegionExtractor()
        self.linker = TrackLinker()
        # Live streams run for hours: they keep only the last LIVE_KEEP frames' objects and evidence.
        keep = LIVE_KEEP if live else None
        self.track_ids: deque[np.ndarray] | list[np.ndarray] = deque(maxlen=keep) if live else []
        self._track_values: dict[int, deque[float]] = {}
        self.falls = PersonDownDetector() if person_down else None
        self.frames: deque[MovingObjects] | list[MovingObjects] = deque(maxlen=keep) if live else []
        self.down: deque | list[tuple[float, np.ndarray | None]] = deque(maxlen=keep) if live else []  # (raw s, box)
        self.times: deque[float] | list[float] = deque(maxlen=keep) if live else []
        self._count = 0  # updates so far
        self.size: tuple[float, float] = (1.0, 1.0)  # (width, height) px of the frames given
        self._cuts: list[int] = []  # update indices where a new shot starts
        self._pending_cut = False
        self._pending_jump = False
        self._obj: np.ndarray | None = None
        self._down: np.ndarray | None = None
        self._evidence: deque[Evidence] | list[Evidence] = deque(maxlen=keep) if live else []
        # live state
        self._window: deque[tuple[int, MovingObjects]] = deque()
        self._norms: ObjectNorms | None = None
        self._norms_t = -np.inf
        self._shot_t0: float | None = None
        self._recent: deque[tuple[float, float]] = deque()
        self._live_obj: list[float] = []
        self._live_down: list[float] = []

    # --- scene cuts -------------------------------------------------------------------------------------
    def cut(self, t: float, same_scene: bool = False) -> None:
        """A new shot starts with the next frame (at ``t`` s): restart flow, background and baseline; for a
        jump of one camera (``same_scene``) the flow and the tracks only."""
        if same_scene and not self._pending_cut:
            self._pending_jump = True
        else:
            self._pending_cut, self._pending_jump = True, False

    def reset(self) -> None:
        self.cut(self.times[-1] if self.times else 0.0)

    def _start_shot(self, t: float) -> None:
        self.regions.reset()
        self.linker.reset()
        self._track_values.clear()
        if self.falls is not None:
            self.falls.reset()
        self._cuts.append(self._count)
        self._window.clear()
        self._norms, self._norms_t, self._shot_t0 = None, -np.inf, t
        self._recent.clear()

    def _jump(self) -> None:
        """One camera's clips joined: what links frames restarts, what describes the scene stays."""
        self.regions.reset()
        self.linker.reset()
        self._track_values.clear()
        if self.falls is not None:
            self.falls.jump()

    # --- frames -----------------------------------------------------------------------------------------
    def update(self, t: float, frame: np.ndarray) -> float | None:
        if self._pending_cut or not self._count:
            self._pending_cut = self._pending_jump = False
            self._start_shot(t)
        elif self._pending_jump:
            self._pending_jump = False
            self._jump()
        self.size = (float(frame.shape[1]), float(frame.shape[0]))
        objs = self.regions.update(t, frame) if self.use_objects or self.use_down else MovingObjects(t)
        raw_down, box = 0.0, None
        if self.falls is not None and self.regions.last_gray is not None:
            raw_down, wbox = self.falls.update(t, self.regions.last_gray)
            if wbox is not None:
                box = wbox * np.float32(frame.shape[1] / self.regions.last_gray.shape[1])
        self.frames.append(objs)
        self.track_ids.append(self.linker.update(objs))
        self.down.append((raw_down, box))
        self.times.append(t)
        self._count += 1
        if not self.live:
            return None
        return self._live_score(t, objs, raw_down)

    def _live_score(self, t: float, objs: MovingObjects, raw_down: float) -> float:
        self._window.append((self._count - 1, objs))
        while self._window and self._window[0][1].t < t - LIVE_WINDOW_S:
            self._window.popleft()
        warm = self._shot_t0 is not None and t - self._shot_t0 >= LIVE_WARMUP_S
        value, ev = 0.0, Evidence(objs.boxes.astype(np.float32)) if len(objs) else Evidence.empty()
        if self.use_objects and (self.scene is not None or warm):
            if warm and t - self._norms_t >= LIVE_REFIT_S:
                past = [o for _, o in self._window]
                table = ObjectTable.from_frames(past, *self.size)
                self._norms = ObjectNorms.fit(table, 1, 1, SPEED_POWER_SELF) if len(table) >= MIN_SHOT_OBJECTS else None
                self._norms_t = t
            own = self._norms if warm else None
            if (self.scene is not None or own is not None) and len(objs):
                table = ObjectTable.from_frames([objs], *self.size)
                values, causes, sp = scored_objects(table, self.scene, own)
                values = self._live_track_mean(values, self.track_ids[-1])
                j = int(np.argmax(values))
                value = float(values[j])
                cause = _CAUSES[3] if _dispersal(objs, sp) else _CAUSES[int(causes[j])]
                ev = Evidence(objs.boxes.astype(np.float32), culprit=j, cause=cause)
        self._recent.append((t, value))
        while self._recent and self._recent[0][0] < t - LIVE_SMOOTH_S:
            self._recent.popleft()
        ref = self.scene.ref if self.scene else REF_SELF
        s_obj = float(calibrate(np.mean([v for _, v in self._recent]), ref))
        s_down = float(calibrate(raw_down, HOLD_S)) if raw_down > 0 else 0.0
        self._live_obj.append(s_obj)
        self._live_down.append(s_down)
        if s_down > s_obj:
            ev = self._down_evidence(objs, self.down[-1][1])
        self._evidence.append(ev)
        return max(s_obj, s_down)

    def _live_track_mean(self, values: np.ndarray, ids: np.ndarray) -> np.ndarray:
        out = np.empty(len(values))
        for k, (v, tid) in enumerate(zip(values, ids, strict=True)):
            hist = self._track_values.setdefault(int(tid), deque(maxlen=LIVE_TRACK_N))
            hist.append(float(v))
            out[k] = np.mean(hist)
        if len(self._track_values) > 4 * max(len(ids), 16):  # forget tracks that ended
            live_ids = set(int(i) for i in ids)
            self._track_values = {k: h for k, h in self._track_values.items() if k in live_ids}
        return out

    # --- offline ----------------------------------------------------------------------------------------
    def finish(self) -> np.ndarray:
        n = self._count
        if n == 0:
            return np.zeros(0)
        if self.live:
            self._obj, self._down = np.array(self._live_obj), np.array(self._live_down)
            return np.maximum(self._obj, self._down)
        t = np.array(self.times)
        values = np.zeros(n)
        culprit = np.full(n, -1)
        causes = [""] * n
        whole: ObjectNorms | None = None
        bounds = [*self._cuts, n] if self._cuts and self._cuts[0] == 0 else [0, *self._cuts, n]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if hi <= lo or not self.use_objects:
                continue
            shot = self.frames[lo:hi]
            table = ObjectTable.from_frames(shot, *self.size, self.track_ids[lo:hi])
            if len(table) == 0:
                continue
            if t[hi - 1] - t[lo] < MIN_SHOT_S:
                if self.scene is None:
                    continue
                own = None  # a short shot: only the scene-fitted comparison speaks
            elif len(table) >= MIN_SHOT_OBJECTS:
                own = ObjectNorms.fit(table, 1, 1, SPEED_POWER_SELF)
            else:
                if whole is None:
                    whole = ObjectNorms.fit(ObjectTable.from_frames(self.frames, *self.size), 1, 1, SPEED_POWER_SELF)
                own = whole
            v, c, sp = scored_objects(table, self.scene, own)
            v = track_mean(v, table.track, TRACK_HALF)  # type: ignore[arg-type]
            fv, arg = frame_values(v, table.frame, hi - lo)
            values[lo:hi] = fv
            first = np.searchsorted(table.frame, np.arange(hi - lo))  # first row of each frame
            for k in np.flatnonzero(arg >= 0):
                culprit[lo + k] = arg[k] - first[k]
                rows = slice(first[k], first[k] + len(shot[k]))
                causes[lo + k] = _CAUSES[3] if _dispersal(shot[k], sp[rows]) else _CAUSES[int(c[arg[k]])]
            values[lo:hi] = smooth(values[lo:hi], t[lo:hi], SMOOTH_S)
        ref = self.scene.ref if self.scene else REF_SELF
        self._obj = calibrate(values, ref) if self.use_objects else np.zeros(n)
        raw_down = np.array([d for d, _ in self.down])
        self._down = np.where(raw_down > 0, calibrate(raw_down, HOLD_S), 0.0)
        self._evidence = []
        for i, objs in enumerate(self.frames):
            if self._down[i] > self._obj[i]:
                self._evidence.append(self._down_evidence(objs, self.down[i][1]))
            elif culprit[i] >= 0:
                self._evidence.append(Evidence(objs.boxes.astype(np.float32), culprit=int(culprit[i]), cause=causes[i]))
            else:
                self._evidence.append(Evidence(objs.boxes.astype(np.float32)) if len(objs) else Evidence.empty())
        return np.maximum(self._obj, self._down)

    @staticmethod
    def _down_evidence(objs: MovingObjects, box: np.ndarray | None) -> Evidence:
        if box is None:
            return Evidence.empty()
        boxes = np.concatenate([objs.boxes, box[None]]).astype(np.float32)
        return Evidence(boxes, culprit=len(boxes) - 1, cause="person down")

    def cue_scores(self) -> dict[str, np.ndarray]:
        """Each cue's calibrated scores (N,) 0..1. Offline: call after ``finish``."""
        if self.live:
            return {"objects": np.array(self._live_obj), "person_down": np.array(self._live_down)}
        if self._obj is None:
            raise RuntimeError("cue_scores() is available after finish()")
        return {"objects": self._obj, "person_down": self._down}

    def evidence(self, index: int) -> Evidence:
        """Evidence of the ``index``-th update (-1: the latest). Live keeps the last LIVE_KEEP only."""
        if index >= 0:
            index -= self._count - len(self._evidence)  # live: the oldest ones were dropped
            if index < 0:
                return Evidence.empty()
        try:
            return self._evidence[index]
        except IndexError:
            return Evidence.empty()


class ObjectsScorer(Scorer):
    """Loaded once, shared: hands out ``ObjectsStream`` (per-video state)."""

    def __init__(self, info: ModelInfo, scene: FittedScene | None = None, objects: bool = True, person_down=True):
        self.info, self.scene, self.objects, self.person_down = info, scene, objects, person_down

    def stream(self, live: bool = False) -> ObjectsStream:
        return ObjectsStream(live, self.scene, person_down=self.person_down, objects=self.objects)
