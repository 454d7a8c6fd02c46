"""The default model (vigil): scene cuts stay low, the fusion's 0.5 line holds on held-apart data, segments
carry their frames' cause, and the event metrics count what a user sees."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import moving_square_frames, write_video

from core.config import ScoringConfig
from core.engine import _score
from core.evalsets import Part, Upload, load_audit
from core.eventmetrics import event_counts, frame_mask, pool
from core.events import ScoreTrack, Segment, segment_cause, segments_from_track
from core.families.cuts.detector import CutDetector
from core.families.vigil import BUILTIN, build_vigil
from core.families.vigil.fusion import Fusion, to_raw
from core.registry import ModelSpec, load_scorer
from core.scorers.base import calibrate
from core.sources import open_source


def _vigil(fusion: Fusion | None = None):
    return build_vigil(ModelSpec.from_dict(BUILTIN), None, extra_cues=[], fusion=fusion or Fusion.identity())


def _cut_clip(tmp_path, fast_from=None, fast_to=None):
    """Two calm shots (different textures, a square moving slowly) joined by a hard cut at frame 60."""
    a = moving_square_frames(n=60, slow_speed=2.0, seed=1)
    b = moving_square_frames(n=60, slow_speed=2.0, seed=7, fast_from=fast_from, fast_to=fast_to)
    b = [255 - f for f in b]  # another scene: inverted texture and brightness
    return write_video(tmp_path / "cut.avi", a + b, 10.0)


def test_cut_detector_finds_a_hard_cut_and_nothing_in_a_calm_shot():
    det = CutDetector()
    a = moving_square_frames(n=30, slow_speed=2.0, seed=1)
    b = [255 - f for f in moving_square_frames(n=30, slow_speed=2.0, seed=7)]
    found = [i for i, f in enumerate(a + b) if det.update(i / 10, f)]
    assert found == [30]


def test_a_hard_cut_in_a_calm_clip_stays_low(tmp_path):
    path = _cut_clip(tmp_path)
    frames, t, score, stream = _score(open_source(path), _vigil(), ScoringConfig(fps=10), None, None)
    assert stream.cuts == pytest.approx([6.0], abs=0.11)
    near = np.abs(t - 6.0) <= 1.0
    assert score[near].max() < 0.3
    assert score.max() < 0.5
    # the plain motion model, which does not know about cuts, peaks at the cut: the test can fail
    _, t_m, s_m = _score(open_source(path), load_scorer("motion"), ScoringConfig(fps=10), None, None)[:3]
    assert s_m[np.abs(t_m - 6.0) <= 0.2].max() > 0.5


def test_a_fast_object_after_a_cut_peaks_with_its_cause_and_box(tmp_path):
    path = _cut_clip(tmp_path, fast_from=35, fast_to=42)  # 9.5..10.2 s, second shot
    frames, t, score, stream = _score(open_source(path), _vigil(), ScoringConfig(fps=10), None, None)
    peak = int(np.argmax(score))
    assert 9.4 <= t[peak] <= 10.4 and score[peak] > 0.5
    ev = stream.evidence(peak)
    assert ev.cause == "fast object"
    assert ev.culprit == 0 and len(ev.boxes) == 1
    assert stream.evidence(int(np.argmin(np.abs(t - 3.0)))).cause in ("", "unusual motion", "fast object")


def test_engine_score_is_the_fusion_of_the_cue_scores(tmp_path):
    path = _cut_clip(tmp_path, fast_from=35, fast_to=42)
    fusion = Fusion({"motion": 0.7}, {"motion": 1.3}, 0.99)
    _, _, score, stream = _score(open_source(path), _vigil(fusion), ScoringConfig(fps=10), None, None)
    again, _ = fusion.combine({"motion": stream.cue_scores[0]})
    np.testing.assert_allclose(score, again)


def test_fusion_calibration_holds_on_held_apart_normal_data():
    rng = np.random.default_rng(0)

    def normal(n):  # two cues in their own units: a noisy one and a quiet one
        return {"a": calibrate(np.abs(rng.normal(0, 2.0, n)), 1.0), "b": calibrate(rng.gamma(1.0, 0.1, n), 1.0)}

    fusion = Fusion.fit(normal(20000), quantile=0.99)
    held = normal(20000)
    fused, driver = fusion.combine(held)
    assert np.mean(fused > 0.5) == pytest.approx(0.01, abs=0.004)  # 0.5 = top 1 % of normal moments
    # each cue alone keeps the meaning too (a model without the optional weights)
    only_a, _ = fusion.combine({"a": held["a"]})
    assert np.mean(only_a > 0.5) == pytest.approx(0.01, abs=0.004)
    # a quiet cue is never amplified beyond its own line, and an anomaly there (twice its line) is found
    assert fusion.scales["b"] == 1.0 and fusion.scales["a"] > 3.0
    odd = {"a": held["a"][:100], "b": calibrate(np.full(100, 2.0), 1.0)}
    f_odd, d_odd = fusion.combine(odd)
    assert np.all(f_odd > 0.5) and np.all(d_odd == 1)


def test_fusion_calibrated_on_smoothed_scores_keeps_the_line_for_segments():
    rng = np.random.default_rng(1)
    t = np.arange(3000) / 10.0
    videos = [{"a": calibrate(np.abs(rng.normal(0, 1.0, 3000)), 1.0)} for _ in range(4)]
    fusion = Fusion.fit(videos, 0.99, times=[t] * 4, smooth_seconds=1.0)
    from core.events import smooth

    held, _ = fusion.combine({"a": calibrate(np.abs(rng.normal(0, 1.0, 3000)), 1.0)})
    assert np.mean(smooth(held, t, 1.0) > 0.5) == pytest.approx(0.01, abs=0.006)
    assert np.mean(held > 0.5) > 0.05  # single frames cross more often: the line is set for the smoothed score


def test_fusion_round_trips_and_inverts_the_calibration(tmp_path):
    assert to_raw(np.array([0.0, 0.5, 0.75])) == pytest.approx([0.0, 1.0, 2.0])
    f = Fusion.fit({"a": np.linspace(0, 0.9, 100)}, 0.9, "x")
    f.save(tmp_path / "f.json")
    assert Fusion.load(tmp_path / "f.json") == f


@pytest.mark.parametrize(
    ("scores", "causes", "expected"),
    [
        ([0.1, 0.6, 0.7, 0.9, 0.6, 0.1], ["", "fight", "fight", "fast object", "fight", ""], "fight"),
        ([0.1, 0.6, 0.95, 0.1], ["", "fight", "fast object", ""], "fast object"),
        ([0.1, 0.2, 0.3], ["", "", ""], ""),
        ([0.1, 0.6, 0.6, 0.1], ["", "fight", "person down", ""], "fight"),  # tie: sorted, peak first
    ],
)
def test_a_segment_carries_the_cause_of_its_frames(scores, causes, expected):
    t = np.arange(len(scores), dtype=float)
    seg = Segment(0.0, float(len(scores) - 1), max(scores), float(np.argmax(scores)))
    assert segment_cause(t, np.array(scores), causes, seg) == expected


def test_segments_outside_the_track_have_no_cause():
    t = np.arange(5.0)
    assert segment_cause(t, np.full(5, 0.9), ["fight"] * 5, Segment(10.0, 12.0, 0.9, 11.0)) == ""


def test_segments_cut_from_a_track_carry_their_frames_cause():
    from core.config import EventConfig

    t = np.arange(100) / 10.0
    score = np.zeros(100)
    score[20:40], score[60:80] = 0.9, 0.8
    causes = [""] * 100
    causes[20:40] = ["fight"] * 20
    causes[60:80] = ["fast object"] * 15 + ["fight"] * 5
    track = ScoreTrack.from_scores(np.arange(100), t, score, 1.0, causes)
    segs = segments_from_track(track, EventConfig())
    assert [s.cause for s in segs] == ["fight", "fast object"]
    assert [s.cause for s in segments_from_track(ScoreTrack.from_scores(np.arange(100), t, score), EventConfig())] == [
        "",
        "",
    ]


def test_event_counts():
    segs = [Segment(1.0, 3.0, 0.9, 2.0), Segment(10.0, 11.5, 0.8, 10.5), Segment(20.2, 22.0, 0.7, 21.0)]
    intervals = [(2.5, 5.0), (30.0, 31.0)]
    c = event_counts(segs, intervals, duration=120.0, cuts=[10.3, 20.0, 30.0])
    assert (c.events, c.found, c.segments, c.false_segments, c.cut_starts) == (2, 1, 3, 2, 2)
    assert c.recall == 0.5 and c.false_per_10min == pytest.approx(10.0)
    # a cut where a true interval starts (an anomaly from the clip's first frame) is not a cut start
    c2 = event_counts([Segment(29.8, 31.0, 0.9, 30.5)], intervals, 60.0, cuts=[30.0])
    assert (c2.found, c2.cut_starts) == (1, 0)
    # nor is a cut inside an anomaly (two fight clips of one source joined)
    c3 = event_counts([Segment(3.4, 5.0, 0.9, 4.0)], intervals, 60.0, cuts=[3.5])
    assert c3.cut_starts == 0
    p = pool([c, c2])
    assert (p.events, p.found, p.duration) == (4, 2, 180.0)
    empty = event_counts([], [], 60.0)
    assert np.isnan(empty.recall) and empty.false_per_10min == 0.0


def test_ignored_intervals_are_dont_care(tmp_path):
    """A clip labelled normal that the content audit found anomalous: a segment on it is neither found nor
    false, the cut where it starts is not innocent, its frames leave the frame metrics; others still count."""
    up = Upload(
        "comp",
        tmp_path / "comp.mp4",
        "fights",
        "report",
        1,
        25.0,
        8.0,
        intervals=[(4.0, 6.0)],
        cuts=[2.0, 4.0, 6.0],
        parts=[
            Part("nofi001", 0.0, 2.0, False),
            Part("nofi047", 2.0, 4.0, False),
            Part("fi001", 4.0, 6.0, True),
            Part("nofi002", 6.0, 8.0, False),
        ],
    )
    (tmp_path / "audit.csv").write_text(
        "clip,verdict,reason\nnofi047.mp4,anomalous,person on the floor\n"
        "nofi001.mp4,calm,walking\nnofi002.mp4,unclear,too dark\n"
    )
    audit = load_audit(tmp_path / "audit.csv")
    assert audit["nofi047"] == ("anomalous", "person on the floor") and audit["nofi002"][0] == "unclear"
    flagged = {c for c, (v, _) in audit.items() if v == "anomalous"}
    assert up.ignored(flagged) == [(2.0, 4.0)]
    segs = [Segment(2.0, 3.8, 0.9, 3.0), Segment(6.0, 7.5, 0.8, 7.0)]  # on the audited clip; on a calm one
    strict = event_counts(segs, up.intervals, up.duration, up.cuts)
    audited = event_counts(segs, up.intervals, up.duration, up.cuts, ignored=up.ignored(flagged))
    assert (strict.false_segments, strict.cut_starts) == (2, 1)  # the cut at 6.0 ends the fight: not innocent
    assert (audited.false_segments, audited.cut_starts, audited.found) == (1, 0, 0)
    keep = frame_mask(np.array([1.0, 2.0, 3.9, 4.0, 7.0]), up.ignored(flagged))
    assert keep.tolist() == [True, False, False, True, True]


class _TwoCueStream:
    """A cue stream that handles cuts itself and reports two fusion inputs (like the objects cue)."""

    def __init__(self, live):
        self.live, self.n, self.cut_at = live, 0, []

    def cut(self, t):
        self.cut_at.append((t, self.n))

    def update(self, t, frame):
        self.n += 1
        return None

    def finish(self):
        return np.maximum(*self.cue_scores().values())

    def cue_scores(self):
        a = np.zeros(self.n)
        a[90:100] = 0.9  # "objects" fires in the second shot
        return {"objects": a, "person_down": np.zeros(self.n)}

    def evidence(self, i):
        from core.scorers.base import Evidence

        box = np.array([[1, 2, 3, 4]], np.float32)
        return Evidence(box, culprit=0, cause="unusual object") if 90 <= i < 100 else Evidence.empty()


def test_a_cue_that_handles_cuts_keeps_one_stream_and_gives_several_inputs(tmp_path):
    from core.families.vigil.cues import Cue
    from core.scorers.base import ModelInfo, Scorer

    made = []

    class TwoCues(Scorer):
        info = ModelInfo("two", "1", "", "x")

        def stream(self, live=False):
            made.append(_TwoCueStream(live))
            return made[-1]

    path = _cut_clip(tmp_path)
    scorer = build_vigil(
        ModelSpec.from_dict(BUILTIN), None, [Cue("objects", TwoCues(), "unusual object")], Fusion.identity()
    )
    _, t, score, stream = _score(open_source(path), scorer, ScoringConfig(fps=10), None, None)
    assert len(made) == 1 and [n for _, n in made[0].cut_at] == [60]  # told of the cut before frame 60
    assert stream.input_names == ["objects", "person_down"]  # with the objects cue, no frame-level motion cue
    assert score[90:100].min() > 0.8
    ev = stream.evidence(95)
    assert ev.cause == "unusual object" and ev.culprit == 0


def test_a_hard_cut_stays_low_for_the_default_as_shipped_without_weights(tmp_path):
    from core.families.vigil import load_fusion

    spec = ModelSpec.from_dict({**BUILTIN, "params": {**BUILTIN["params"], "fight_model": None}})
    scorer = build_vigil(spec, None, fusion=load_fusion())  # objects + person down + cuts, the shipped fusion
    assert "objects" in scorer.info.version
    _, t, score, stream = _score(open_source(_cut_clip(tmp_path)), scorer, ScoringConfig(fps=10), None, None)
    assert stream.cuts == pytest.approx([6.0], abs=0.11)
    assert score[np.abs(t - 6.0) <= 1.0].max() < 0.5


def test_a_refitted_fusion_is_a_new_model_version():
    """The store and the batch skip what is stored under the scorer's version: scores of an older fusion must not
    pass for current ones."""
    from core.families.vigil import load_fusion

    spec = ModelSpec.from_dict({**BUILTIN, "params": {**BUILTIN["params"], "fight_model": None}})
    shipped = load_fusion()
    refit = Fusion({**shipped.scales, "objects": shipped.scales["objects"] * 2}, shipped.refs, shipped.quantile)
    a = build_vigil(spec, None, fusion=shipped).info.version
    b = build_vigil(spec, None, fusion=refit).info.version
    assert a != b and a.split("@")[0] == b.split("@")[0]  # same cues, another fusion
    assert build_vigil(spec, None, fusion=load_fusion()).info.version == a  # stable for the same fusion


def test_without_the_movinet_weights_the_default_model_says_it_looks_for_no_fights(make_video, monkeypatch):
    from core.engine import analyze
    from core.registry import status

    st = status("vigil")  # the test's models folder has no MoViNet weights (conftest unsets VIGIL_MODELS_DIR)
    assert st.available and st.limits.startswith("Fights are not looked for: the fight cue needs ")
    assert "movinet_a0_stream_int8.tflite" in st.limits and "VIGIL_MODELS_DIR" in st.limits
    rec = analyze(make_video("yard.avi", n=40), model="vigil")
    assert rec.warnings == [st.limits]  # every analysis made so says it, also when reopened or exported
    spec = ModelSpec.from_dict({**BUILTIN, "params": {**BUILTIN["params"], "fight_model": None}})
    assert build_vigil(spec, None).limits == ""  # built without a fight cue on purpose: nothing left out


def test_with_the_movinet_weights_the_default_model_leaves_nothing_out(shared_models, monkeypatch):
    from core.registry import status

    monkeypatch.setenv("VIGIL_MODELS_DIR", str(shared_models))
    assert status("vigil").limits == "" and load_scorer("vigil", allow_download=False).limits == ""


def test_the_default_models_summary_names_fights_only_where_its_fight_cue_runs(shared_models, monkeypatch):
    """Home and the pickers show ``ModelStatus.plain``: it must not promise fights the server cannot find, nor
    hedge ("with the MoViNet weights") where the weights are in place."""
    from core.registry import status

    without = status("vigil")  # the test's models folder has no MoViNet weights
    assert "fight" not in without.plain.lower() and without.plain.startswith("The default.")
    assert "people who fall" in without.plain and without.limits.startswith("Fights are not looked for")
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(shared_models))
    whole = status("vigil")
    assert whole.limits == "" and "people who fall and fights;" in whole.plain
    assert "MoViNet" not in whole.plain and "MoViNet" not in status("fight-movinet").plain
