"""The default model's speed-ups change no number: a cue on its own thread (``Cue.own_thread``) sees the same
calls in the same order, and the real model gives bit-identical scores and causes to the plain sequential path."""

from __future__ import annotations

import copy
import threading

import cv2
import numpy as np
import pytest
from conftest import moving_square_frames, shared_path, write_video

from core.config import ScoringConfig
from core.engine import _score, frame_causes
from core.families.vigil import BUILTIN, build_vigil
from core.families.vigil.cues import Cue
from core.families.vigil.fusion import Fusion
from core.families.vigil.scorer import VigilScorer
from core.registry import ModelSpec, load_scorer
from core.scorers.base import Evidence, ModelInfo, Scorer, ScoringStream
from core.sources import open_source


class _Recorder(ScoringStream):
    """Records every call and the thread it ran on; scores are a pure function of the frames seen."""

    def __init__(self, live: bool, log: list, fail_at: int | None):
        super().__init__(live)
        self.log, self.fail_at, self.sums = log, fail_at, []

    def update(self, t, frame):
        if self.fail_at is not None and len(self.sums) == self.fail_at:
            raise ValueError("cue failed")
        self.log.append(("update", round(t, 3), threading.current_thread().name))
        self.sums.append(float(frame.mean()) / 255.0)
        return float(np.mean(self.sums[-3:])) if self.live else None

    def cut(self, t):
        self.log.append(("cut", round(t, 3), threading.current_thread().name))

    def finish(self):
        return np.array(self.sums)

    def evidence(self, index):
        return Evidence(cause="test cause") if self.sums[index] > 0.4 else Evidence.empty()


class _RecorderCue(Scorer):
    def __init__(self, fail_at: int | None = None):
        self.info, self.log, self.fail_at = ModelInfo("rec", "1", "", "test"), [], fail_at

    def stream(self, live=False):
        return _Recorder(live, self.log, self.fail_at)


def _cut_frames():
    a = moving_square_frames(n=40, slow_speed=2.0, seed=1)
    return a + [255 - f for f in moving_square_frames(n=40, slow_speed=2.0, seed=7)]  # a hard cut at 40


def _run(threads: bool, live: bool, fail_at: int | None = None):
    rec = _RecorderCue(fail_at)
    cues = [Cue("objects", _RecorderCue(), "unusual object"), Cue("fight", rec, "fight", 5.0, own_thread=True)]
    vigil = build_vigil(ModelSpec.from_dict(BUILTIN), None, extra_cues=cues, fusion=Fusion.identity())
    vigil.threads = threads
    stream = vigil.stream(live=live)
    frames = _cut_frames()
    live_scores = [stream.update(i / 10, f) for i, f in enumerate(frames)]
    scores = stream.finish()
    causes = [stream.evidence(i).cause for i in range(len(frames))] if not live else []
    return rec.log, live_scores, scores, causes, stream


@pytest.mark.parametrize("live", [False, True])
def test_a_cue_on_its_own_thread_sees_the_same_calls_and_gives_the_same_scores(live):
    log_a, live_a, scores_a, causes_a, plain = _run(threads=False, live=live)
    log_b, live_b, scores_b, causes_b, lanes = _run(threads=True, live=live)
    assert plain.cuts == lanes.cuts == pytest.approx([4.0])
    assert [c[:2] for c in log_a] == [c[:2] for c in log_b]
    assert ("cut", 4.0) in [c[:2] for c in log_b]
    assert len([c for c in log_b if c[0] == "update"]) == 40  # 5 of 10 fps
    here = threading.current_thread().name
    assert {c[2] for c in log_a} == {here}
    assert here not in {c[2] for c in log_b}  # the fight cue really ran elsewhere
    assert np.array_equal(scores_a, scores_b)
    assert live_a == live_b and causes_a == causes_b
    if live:
        assert max(live_b) > 0
    else:
        assert "test cause" in causes_b


def test_an_error_on_a_cue_thread_reaches_the_caller():
    with pytest.raises(ValueError, match="cue failed"):
        _run(threads=True, live=False, fail_at=10)


def _plain(vigil: VigilScorer) -> VigilScorer:
    """The same cues run as before: all on the caller's thread, TFLite at its former 2 threads."""
    cues = []
    for c in vigil.cues:
        scorer = c.scorer
        if hasattr(scorer, "num_threads"):
            scorer = copy.copy(scorer)
            scorer.num_threads = 2
        cues.append(Cue(c.name, scorer, c.cause, c.fps))
    return VigilScorer(vigil.info, cues, vigil.fusion, threads=False)


def _compilation(tmp_path):
    """A fight clip joined to a calm clip of another scene (a cut), both at 640x480."""
    frames = []
    for p in (
        shared_path("data", "fights", "fight", "fi001.mp4"),
        shared_path("data", "fights", "noFight", "nofi001.mp4"),
    ):
        cap = cv2.VideoCapture(str(p))
        for _ in range(100):
            ok, f = cap.read()
            if not ok:
                break
            frames.append(cv2.resize(f, (640, 480), interpolation=cv2.INTER_AREA))
        cap.release()
    return write_video(tmp_path / "compilation.avi", frames, 25.0)


@pytest.mark.slow
def test_the_default_model_gives_bit_identical_scores_and_causes_to_the_plain_path(
    monkeypatch, shared_models, vtest, tmp_path
):
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(shared_models))
    vigil = load_scorer("vigil")
    assert [c.name for c in vigil.cues if c.own_thread] == ["fight"]
    assert vigil.threads and next(c for c in vigil.cues if c.name == "fight").scorer.num_threads == 1
    plain = _plain(vigil)
    for path in (_compilation(tmp_path), vtest):
        src = open_source(path)
        cfg = ScoringConfig()
        got = {}
        for name, scorer in (("plain", plain), ("fast", vigil)):
            _, _, scores, stream = _score(src, scorer, cfg, None, None)
            got[name] = (scores, stream.cue_scores, frame_causes(stream, len(scores)), stream.cuts)
        (s_a, c_a, k_a, cut_a), (s_b, c_b, k_b, cut_b) = got["plain"], got["fast"]
        assert np.array_equal(s_a, s_b) and np.array_equal(c_a, c_b)
        assert k_a == k_b and cut_a == cut_b
        assert s_b.max() > 0
        if path.name == "compilation.avi":
            assert len(cut_b) >= 1 and "fight" in k_b  # the cut reached the fight cue's thread, which found the fight
