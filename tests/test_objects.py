"""The objects and person-down cues on synthetic clips (core/families/objects)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.config import ScoringConfig
from core.families.objects import FAMILIES
from core.families.objects.fit import fit_normal
from core.families.objects.stream import FittedScene, ObjectsScorer, ObjectsStream
from core.families.objects.tracks import track_mean
from core.registry import ModelSpec
from core.scorers.base import CAUSES, ModelInfo
from core.sources import open_source
from tests.conftest import write_video

FPS = 10.0
H, W = 240, 320
INFO = ModelInfo("objects", "1", "", "objects")


def _background(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(rng.integers(0, 255, (H, W), dtype=np.uint8), (0, 0), 3)
    return cv2.cvtColor(bg, cv2.COLOR_GRAY2BGR)


def _patch(w: int, h: int, seed: int) -> np.ndarray:
    """A textured object (flow needs texture to see it move)."""
    rng = np.random.default_rng(100 + seed)
    p = rng.integers(0, 255, (h, w), dtype=np.uint8)
    p = cv2.resize(cv2.resize(p, (max(1, w // 4), max(1, h // 4))), (w, h), interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(p, cv2.COLOR_GRAY2BGR)


def _bounce(x: float, lo: float, hi: float) -> float:
    span = hi - lo
    u = (x - lo) % (2 * span)
    return lo + (u if u < span else 2 * span - u)


def walkers_frames(
    n: int = 80,
    walkers: int = 5,
    speed: float = 2.0,
    fast_from: int | None = None,
    fast_to: int | None = None,
    fast_speed: float = 7.0,
    seed: int = 0,
) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Tall textured boxes walking left/right at ``speed`` px/frame (alternating directions, rows spread);
    during [fast_from, fast_to) a small box crosses at ``fast_speed``. Returns frames (BGR (H,W,3)) and,
    per frame, the fast box xyxy (or None)."""
    bg = _background(seed)
    people = [
        (_patch(16, 36, i), 30 + 55 * i, 40 + (i % 3) * 60, speed if i % 2 == 0 else -speed) for i in range(walkers)
    ]
    bike = _patch(18, 18, 99)
    frames, fast_boxes = [], []
    for k in range(n):
        img = bg.copy()
        for p, x0, y0, v in people:
            x = int(_bounce(x0 + v * k, 0, W - p.shape[1]))
            img[y0 : y0 + p.shape[0], x : x + p.shape[1]] = p
        box = None
        if fast_from is not None and fast_from <= k < (fast_to if fast_to is not None else n):
            x = int(_bounce(10 + fast_speed * (k - fast_from), 0, W - 18))
            y = 200
            img[y : y + 18, x : x + 18] = bike
            box = np.array([x, y, x + 18, y + 18], np.float32)
        frames.append(img)
        fast_boxes.append(box)
    return frames, fast_boxes


def falling_frames(n: int = 70, fall_at: int | None = 35, enter: int = 5, seed: int = 0) -> list[np.ndarray]:
    """From frame ``enter`` a standing person (16x40 box) walks slowly right; at ``fall_at`` it lies (40x16)
    where its feet were."""
    bg = _background(seed)
    stand = np.full((40, 16, 3), 30, np.uint8)
    lie = np.full((16, 40, 3), 30, np.uint8)
    frames = []
    for k in range(n):
        img = bg.copy()
        if k < enter:
            pass
        elif fall_at is None or k < fall_at:
            x = 100 + k
            img[150:190, x : x + 16] = stand
        else:
            x = 100 + fall_at
            img[174:190, x - 12 : x + 28] = lie
        frames.append(img)
    return frames


def run(stream: ObjectsStream, frames: list[np.ndarray]) -> np.ndarray:
    for i, f in enumerate(frames):
        stream.update(i / FPS, f)
    return stream.finish()


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_fast_small_object_among_slow_ones_peaks_there_and_is_boxed():
    frames, fast = walkers_frames(n=90, fast_from=45, fast_to=60)
    stream = ObjectsScorer(INFO).stream(live=False)
    scores = run(stream, frames)
    objects = stream.cue_scores()["objects"]
    peak = int(np.argmax(objects))
    assert 45 <= peak < 61, f"peak at frame {peak}, the fast object crosses frames 45..59"
    assert objects[48:58].min() > 0.5 > objects[5:40].max(), (objects[48:58].min(), objects[5:40].max())
    assert scores[peak] == pytest.approx(max(objects[peak], stream.cue_scores()["person_down"][peak]))
    ev = stream.evidence(peak)
    assert ev.culprit >= 0 and ev.cause == "fast object"
    truth = fast[min(peak, 59)]
    assert _iou(ev.boxes[ev.culprit], truth) > 0.3, (ev.boxes[ev.culprit], truth)


def test_uniformly_moving_crowd_stays_low():
    frames, _ = walkers_frames(n=90, walkers=6, speed=3.0)
    stream = ObjectsScorer(INFO).stream(live=False)
    scores = run(stream, frames)
    assert scores[2:].max() < 0.5, scores.max()
    assert np.mean(scores >= 0.4) < 0.05


def test_standing_box_that_lies_down_peaks_with_cause_person_down():
    stream = ObjectsScorer(INFO).stream(live=False)
    scores = run(stream, falling_frames(n=70, fall_at=35))
    down = stream.cue_scores()["person_down"]
    assert down[:35].max() == 0.0
    assert down[47:].min() >= 0.5, down[35:]  # lain >= 1 s: the 0.5 line
    assert scores[60] >= 0.5
    ev = stream.evidence(60)
    assert ev.cause == "person down" and ev.culprit >= 0
    x0, y0, x1, y1 = ev.boxes[ev.culprit]
    assert x1 - x0 > y1 - y0  # the lying box is wide
    assert 120 <= (x0 + x1) / 2 <= 160 and 165 <= (y0 + y1) / 2 <= 195


def test_person_who_keeps_standing_is_not_down():
    stream = ObjectsScorer(INFO).stream(live=False)
    run(stream, falling_frames(n=70, fall_at=None))
    assert stream.cue_scores()["person_down"].max() == 0.0


@pytest.mark.parametrize("same_scene", [True, False])
def test_after_a_camera_jump_the_video_keeps_its_baseline(same_scene):
    """One camera's clips joined: walkers, then (a jump in time) everybody running for the whole second clip.
    Across a camera jump the runners are compared with the first clip's walkers and stand out; after a cut to
    another scene they are compared only with each other (a uniform crowd) and do not."""
    calm, _ = walkers_frames(n=80, speed=2.0)
    running, _ = walkers_frames(n=60, speed=7.0)
    stream = ObjectsScorer(INFO).stream(live=False)
    for i, f in enumerate(calm + running):
        if i == len(calm):
            stream.cut(i / FPS, same_scene=same_scene)
        stream.update(i / FPS, f)
    stream.finish()
    after = stream.cue_scores()["objects"][len(calm) + 5 :]
    assert (after.max() >= 0.5) == same_scene, after.max()


def test_live_scores_are_causal_and_a_cut_restarts_the_baseline():
    frames, _ = walkers_frames(n=70, fast_from=50, fast_to=62)
    live = ObjectsScorer(INFO).stream(live=True)
    out = [live.update(i / FPS, f) for i, f in enumerate(frames)]
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in out)
    assert max(out[:30]) == 0.0  # warming up (3 s)
    assert max(out[52:62]) > 0.5 > max(out[31:48])
    assert live.evidence(-1).cause in CAUSES
    live.cut(7.0)
    after = [live.update(7.0 + i / FPS, f) for i, f in enumerate(frames[:20])]
    assert max(after) == 0.0  # a new shot warms up again: no score across the cut


def test_offline_cut_keeps_shots_apart():
    """Two shots: a calm one and one with a fast object. With the cut marked, the calm shot stays calm."""
    calm, _ = walkers_frames(n=50, seed=1)
    busy, _ = walkers_frames(n=50, fast_from=10, fast_to=40, seed=2)
    stream = ObjectsScorer(INFO).stream(live=False)
    for i, f in enumerate(calm):
        stream.update(i / FPS, f)
    stream.cut(5.0)
    for i, f in enumerate(busy):
        stream.update(5.0 + i / FPS, f)
    scores = stream.finish()
    assert len(scores) == 100
    assert scores[:50].max() < 0.5
    assert scores[62:88].max() > 0.5
    assert scores[49:52].max() < 0.5  # nothing at the cut itself


def test_scene_fitted_model_reloads_from_its_artifact_with_identical_scores(tmp_path):
    normal = [write_video(tmp_path / f"normal{i}.avi", walkers_frames(n=60, seed=i)[0], FPS) for i in range(3)]
    result = fit_normal([open_source(p) for p in normal], ScoringConfig(fps=FPS))
    assert result.kind == "objects-fitted" and result.metrics["ref"] > 0
    artifact = tmp_path / "scene.npz"
    result.save_artifact(artifact)
    family = next(f for f in FAMILIES if f.kind == "objects-fitted")
    spec = ModelSpec(name="scene", kind="objects-fitted", params={"artifact": "scene.npz"})
    loaded = family.build(spec, lambda name: tmp_path / name)
    frames, fast = walkers_frames(n=60, fast_from=30, fast_to=45, seed=7)
    a = run(result.scorer.stream(live=False), frames)
    b = run(loaded.stream(live=False), frames)
    np.testing.assert_array_equal(a, b)
    assert int(np.argmax(a)) in range(30, 46) and a.max() > 0.5
    assert isinstance(loaded.scene, FittedScene) and loaded.scene.ref == pytest.approx(result.metrics["ref"])


def test_fitted_family_without_artifact_is_a_readable_error():
    from core.errors import ModelNotFittedError

    family = next(f for f in FAMILIES if f.kind == "objects-fitted")
    with pytest.raises(ModelNotFittedError):
        family.build(ModelSpec(name="x", kind="objects-fitted"), lambda name: name)


def test_families_and_builtins():
    kinds = {f.kind: f for f in FAMILIES}
    assert set(kinds) == {"objects", "objects-fitted", "person-down"}
    assert kinds["objects-fitted"].fit_normal is not None
    assert [b["name"] for b in kinds["objects"].builtin] == ["objects"]
    assert not kinds["objects"].weights  # runs with no weight files


@pytest.mark.parametrize(
    ("values", "track", "half", "expected"),
    [
        ([], [], 2, []),
        ([1.0, 2.0, 3.0], [7, 7, 7], 0, [1.0, 2.0, 3.0]),
        ([1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 40.0], [0, 5, 0, 5, 0, 5, 5], 1, [2, 6, 8, 14, 11.5, 80 / 3, 35]),
    ],
)
def test_track_mean(values, track, half, expected):
    out = track_mean(np.array(values, float), np.array(track, int), half)
    np.testing.assert_allclose(out, expected)


def dispersal_frames(n: int = 130, flee_at: int = 110, seed: int = 0) -> list[np.ndarray]:
    """Six people mill about slowly around the centre; at ``flee_at`` all run outwards at once."""
    bg = _background(seed)
    people = [_patch(16, 36, i) for i in range(6)]
    angles = np.linspace(0, 2 * np.pi, 6, endpoint=False) + 0.3
    centre = np.array([W / 2, H / 2])
    frames = []
    for k in range(n):
        img = bg.copy()
        for i, p in enumerate(people):
            d = np.array([np.cos(angles[i]), np.sin(angles[i])])
            if k < flee_at:
                sway = _bounce(2.0 * k, 0, 30) - 15  # walking to and fro, 2 px a frame
                pos = centre + d * np.array([100, 60]) + np.array([sway if i % 2 else -sway, 0.0])
            else:
                pos = centre + d * np.array([100, 60]) + d * 6.0 * (k - flee_at)
            x = int(np.clip(pos[0] - 8, 0, W - 16))
            y = int(np.clip(pos[1] - 18, 0, H - 36))
            img[y : y + 36, x : x + 16] = p
        frames.append(img)
    return frames


def test_people_running_apart_at_once_is_crowd_dispersal():
    stream = ObjectsScorer(INFO).stream(live=False)
    scores = run(stream, dispersal_frames())
    peak = int(np.argmax(scores))
    assert peak >= 110 and scores[peak] > 0.5 > scores[5:105].max()
    assert stream.evidence(peak).cause == "crowd dispersal"


def test_live_stream_keeps_bounded_state_and_all_scores():
    from core.families.objects.stream import LIVE_KEEP

    frames, _ = walkers_frames(n=40)
    live = ObjectsScorer(INFO).stream(live=True)
    n = LIVE_KEEP + 50
    for i in range(n):
        live.update(i / FPS, frames[i % 40] if (i // 40) % 2 == 0 else frames[39 - i % 40])
    assert len(live.frames) == LIVE_KEEP and len(live.finish()) == n
    assert len(live.evidence(0).boxes) == 0 and live.evidence(0).culprit == -1  # dropped: empty
    assert len(live.evidence(n - 1).boxes) > 0 and live.evidence(-1) is live.evidence(n - 1)


def test_short_shot_after_a_cut_stays_low_and_a_long_shot_still_peaks(monkeypatch):
    """A compilation: a calm 6 s shot, a hard cut, a 2 s shot where one lively normal object outruns the others
    (too short a baseline to judge it), a cut, then a 9 s shot where a fast object crosses."""
    calm, _ = walkers_frames(n=60, seed=1)
    lively, _ = walkers_frames(n=20, fast_from=8, fast_speed=10.0, seed=2)
    busy, fast = walkers_frames(n=90, fast_from=45, fast_to=60, seed=3)

    def scores() -> np.ndarray:
        stream = ObjectsScorer(INFO).stream(live=False)
        t0 = 0.0
        for shot in (calm, lively, busy):
            if t0:
                stream.cut(t0)
            for i, f in enumerate(shot):
                stream.update(t0 + i / FPS, f)
            t0 += len(shot) / FPS
        stream.finish()
        return stream.cue_scores()["objects"]

    s = scores()
    assert s[60:80].max() < 0.5, s[60:80]
    assert 80 + 45 <= int(np.argmax(s)) < 80 + 61 and s.max() > 0.5, (int(np.argmax(s)), s.max())
    monkeypatch.setattr("core.families.objects.stream.MIN_SHOT_S", 0.0)
    assert scores()[60:80].max() >= 0.5  # without the rule the short shot is judged against itself and peaks
