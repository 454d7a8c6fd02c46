"""Causes end to end: every frame's cause and every segment's cause are stored with an analysis, reload
unchanged, survive re-segmenting, and a database from before causes existed still opens."""

from __future__ import annotations

import sqlite3

import numpy as np
from conftest import moving_square_frames, write_video

from core.config import EventConfig, ScoringConfig
from core.db import Database
from core.engine import analyze
from core.families.vigil import BUILTIN, build_vigil
from core.families.vigil.fusion import Fusion
from core.registry import ModelSpec
from core.store import Store


def _default_model():
    return build_vigil(ModelSpec.from_dict(BUILTIN), None, extra_cues=[], fusion=Fusion.identity())


def test_causes_are_stored_and_reloaded_with_an_analysis(tmp_path):
    # a calm square that suddenly moves fast: the default model's motion cue names it "fast object"
    path = write_video(
        tmp_path / "fast.avi", moving_square_frames(n=100, slow_speed=2.0, fast_from=50, fast_to=58, fast_speed=60.0)
    )
    st = Store()
    rec = analyze(
        path,
        store=st,
        scorer=_default_model(),
        scoring=ScoringConfig(fps=10),
        events=EventConfig(threshold=0.3, min_duration=0.0),
    )
    assert rec.segments and rec.segments[0].cause == "fast object"
    assert len(rec.track.causes) == len(rec.track) and "fast object" in rec.track.causes
    back = st.load(rec.id)
    assert back.track.causes == rec.track.causes
    assert [s.cause for s in back.segments] == [s.cause for s in rec.segments]
    # a new threshold re-cuts segments from the stored scores: causes come along
    again = back.resegment(EventConfig(threshold=0.25, min_duration=0.0))
    assert again.segments and all(s.cause == "fast object" for s in again.segments)


def test_a_model_without_causes_stores_none(make_video):
    path = make_video("v.avi", n=60, fast_from=30, fast_to=40)
    st = Store()
    rec = analyze(path, model="motion", store=st, events=EventConfig(threshold=0.3, min_duration=0.0))
    back = st.load(rec.id)
    assert back.track.causes == [] and all(s.cause == "" for s in back.segments)


OLD_SCHEMA = """
CREATE TABLE analyses (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, source_name TEXT NOT NULL,
    source_uri TEXT NOT NULL, video_path TEXT NOT NULL, video_hash TEXT NOT NULL, model TEXT NOT NULL,
    model_version TEXT NOT NULL, scoring_key TEXT NOT NULL, scoring_json TEXT NOT NULL, events_json TEXT NOT NULL,
    meta_json TEXT NOT NULL, duration REAL NOT NULL, peak REAL NOT NULL, peak_t REAL NOT NULL,
    n_segments INTEGER NOT NULL, frac_anomalous REAL NOT NULL, warnings_json TEXT NOT NULL DEFAULT '[]');
CREATE TABLE frame_scores (analysis_id TEXT NOT NULL, frame INTEGER NOT NULL, t REAL NOT NULL,
    score REAL NOT NULL, smoothed REAL NOT NULL, PRIMARY KEY (analysis_id, frame)) WITHOUT ROWID;
CREATE TABLE segments (analysis_id TEXT NOT NULL, idx INTEGER NOT NULL, start REAL NOT NULL, "end" REAL NOT NULL,
    peak REAL NOT NULL, peak_t REAL NOT NULL, PRIMARY KEY (analysis_id, idx));
CREATE TABLE thumbnails (analysis_id TEXT NOT NULL, frame INTEGER NOT NULL, t REAL NOT NULL, score REAL NOT NULL,
    rank INTEGER, path TEXT NOT NULL, PRIMARY KEY (analysis_id, frame));
"""


def test_a_database_from_before_causes_opens_and_its_analyses_have_no_cause(tmp_path):
    db_path = tmp_path / "old" / "vigil.sqlite"
    db_path.parent.mkdir()
    with sqlite3.connect(db_path) as con:
        con.executescript(OLD_SCHEMA)
        meta = '{"name": "v.avi", "fps": 10.0, "frame_count": 3, "width": 8, "height": 8, "codec": "x"}'
        con.execute(
            "INSERT INTO analyses VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                "old1",
                "2026-01-01T00:00:00+00:00",
                "v.avi",
                "v.avi",
                "v.avi",
                "h",
                "motion",
                "1",
                "k",
                ScoringConfig().model_dump_json(),
                EventConfig().model_dump_json(),
                meta,
                0.3,
                0.9,
                0.1,
                1,
                0.5,
                "[]",
            ),
        )
        con.executemany(
            "INSERT INTO frame_scores VALUES (?,?,?,?,?)", [("old1", i, i / 10, 0.9, 0.9) for i in range(3)]
        )
        con.execute("INSERT INTO segments VALUES ('old1', 0, 0.0, 0.3, 0.9, 0.1)")
    st = Store(Database(db_path))
    rec = st.load("old1")
    assert rec.track.causes == [] and [s.cause for s in rec.segments] == [""]
    np.testing.assert_allclose(rec.track.score, [0.9, 0.9, 0.9])
    with sqlite3.connect(db_path) as con:
        cols = {r[1] for r in con.execute("PRAGMA table_info(segments)")}
    assert "cause" in cols


def test_backtest_alerts_and_their_email_carry_the_cause_of_the_peak(tmp_path):
    from core.alerts import AlertConfig, backtest
    from core.events import ScoreTrack
    from core.outbox import Outbox, email_for

    t = np.arange(200) / 10.0
    score = np.zeros(200)
    score[50:120] = 0.8
    score[90] = 0.95  # the peak
    causes = [""] * 200
    causes[50:120] = ["fast object"] * 70
    causes[90] = "fight"
    track = ScoreTrack.from_scores(np.arange(200), t, score, 1.0, causes)
    (alert,) = backtest(track, AlertConfig(threshold=0.6, seconds=2.0, smooth_seconds=1.0))
    assert alert.cause == "fast object"  # fired at ~7 s, before the fight frame: the peak so far
    (late,) = backtest(track, AlertConfig(threshold=0.6, seconds=5.0, smooth_seconds=1.0))
    assert late.cause == "fight"  # fired after 9.0 s: the peak is the fight frame
    rec = Outbox(Database(tmp_path / "db" / "vigil.sqlite")).record(late, "vigil")
    msg = email_for(rec)
    assert "Why:        fight" in msg.body and msg.subject.endswith(", fight)")


def test_exports_carry_the_segment_cause(tmp_path):
    from core.exports import segments_csv, segments_json

    path = write_video(
        tmp_path / "fast.avi", moving_square_frames(n=100, slow_speed=2.0, fast_from=50, fast_to=58, fast_speed=60.0)
    )
    rec = analyze(path, scorer=_default_model(), events=EventConfig(threshold=0.3, min_duration=0.0))
    assert segments_csv(rec).splitlines()[0].endswith(",cause")
    assert ",fast object" in segments_csv(rec)
    assert '"cause": "fast object"' in segments_json(rec)


def test_thumbnails_box_the_object_and_write_the_cause(tmp_path):
    import cv2

    frames = moving_square_frames(n=100, slow_speed=2.0, fast_from=50, fast_to=58, fast_speed=60.0)
    path = write_video(tmp_path / "fast.avi", frames)
    rec = analyze(path, scorer=_default_model(), events=EventConfig(threshold=0.3, min_duration=0.0))
    seg = rec.segments[0]
    frame = rec.track.frame_at(seg.peak_t)
    img = cv2.imread(str(rec.thumbnails[frame]))
    plain = cv2.resize(frames[frame], (img.shape[1], img.shape[0]))
    red = (img[..., 2] > 200) & (img[..., 1] < 80) & (img[..., 0] < 80)  # the culprit's box
    assert red.sum() > 50 and not ((plain[..., 2] > 200) & (plain[..., 1] < 80) & (plain[..., 0] < 80)).any()
    caption = img[4:24, 4:120]
    assert (caption < 10).mean() > 0.3 and (caption > 200).any()  # black caption box with white text


def test_a_moment_below_the_line_keeps_a_plain_thumbnail(tmp_path):
    import cv2

    frames = moving_square_frames(n=100, slow_speed=2.0, fast_from=50, fast_to=58, fast_speed=60.0)
    path = write_video(tmp_path / "fast.avi", frames)
    # the same fast object, with a line no moment reaches: the worst moments are no finding, nothing is drawn
    rec = analyze(path, scorer=_default_model(), events=EventConfig(threshold=1.0, min_duration=0.0))
    assert rec.segments == [] and rec.moments and rec.thumbnails
    assert any(rec.track.cause_at(rec.track.index_at(m.t)) for m in rec.moments)  # a cue did name them
    for frame, file in rec.thumbnails.items():
        img = cv2.imread(str(file))
        red = (img[..., 2] > 200) & (img[..., 1] < 80) & (img[..., 0] < 80)
        assert red.sum() == 0, f"frame {frame} has a culprit box"
        assert not (img[4:24, 4:120] < 10).mean() > 0.3, f"frame {frame} has a caption box"


def _objects_model(fusion: Fusion):
    """The default model as a user without fight weights gets it (the objects cue: two fusion inputs)."""
    spec = ModelSpec.from_dict({**BUILTIN, "params": {**BUILTIN["params"], "fight_model": None}})
    return build_vigil(spec, None, fusion=fusion)


FUSION = Fusion(
    scales={"objects": 2.0, "person_down": 1.0},
    refs={"objects": 0.7, "person_down": 1.0, "objects+person_down": 0.8},
    quantile=0.99,
)


def test_fusion_contributions_are_each_cue_on_the_fused_scale_and_their_maximum_is_the_score():
    rng = np.random.default_rng(0)
    cues = {"objects": rng.uniform(0, 1, 500), "person_down": rng.uniform(0, 0.9, 500)}
    fused, driver = FUSION.combine(cues)
    parts = FUSION.contributions(cues)
    assert list(parts) == ["objects", "person_down"]
    np.testing.assert_allclose(np.max(np.stack(list(parts.values())), axis=0), fused, atol=1e-12)
    assert (np.stack(list(parts.values())).argmax(axis=0) == driver).all()
    # a cue at its fitted scale (raw 2.0 for objects) sits at ref 0.8's calibration of 1.0, not at its own 0.5
    (one,) = FUSION.contributions({"objects": np.array([0.75]), "person_down": np.array([0.0])})["objects"]
    assert 0.5 < one < 0.75


def test_each_cue_curve_is_stored_reloaded_and_exported_with_an_analysis(tmp_path):
    from core.exports import scores_csv

    path = write_video(
        tmp_path / "fast.avi", moving_square_frames(n=100, slow_speed=2.0, fast_from=50, fast_to=58, fast_speed=60.0)
    )
    st = Store()
    rec = analyze(path, store=st, scorer=_objects_model(FUSION), scoring=ScoringConfig(fps=10))
    assert list(rec.cues) == ["moving objects", "person down"]
    stacked = np.stack(list(rec.cues.values()))
    assert stacked.shape == (2, len(rec.track)) and stacked[0].max() > 0.3  # the fast square moved the objects cue
    np.testing.assert_allclose(stacked.max(axis=0), rec.track.score, atol=1e-9)
    back = st.load(rec.id)
    assert list(back.cues) == list(rec.cues)
    for label in rec.cues:
        np.testing.assert_allclose(back.cues[label], rec.cues[label], atol=1e-6)  # stored as float32
    assert list(back.resegment(EventConfig(threshold=0.2)).cues) == list(rec.cues)
    lines = scores_csv(back).splitlines()
    assert lines[0] == "frame,t,score,smoothed,cue: moving objects,cue: person down"
    row = lines[1 + int(np.argmax(back.track.score))].split(",")
    assert max(float(row[4]), float(row[5])) == float(row[2])  # the score is the strongest cue
    # a damaged curves file never keeps the analysis from opening: it opens without its cue curves
    good = (back.files_dir / "cues.npz").read_bytes()
    for damage in (b"not an npz", b"", good[: len(good) // 2], b"PK\x03\x04" + b"\0" * 64):
        (back.files_dir / "cues.npz").write_bytes(damage)
        again = st.load(rec.id)
        assert again.cues == {} and len(again.track) == len(rec.track)


def test_a_single_cue_model_stores_no_cue_curves(make_video):
    from core.exports import scores_csv

    path = make_video("v.avi", n=60, fast_from=30, fast_to=40)
    st = Store()
    rec = analyze(path, model="motion", store=st)
    assert rec.cues == {} and st.load(rec.id).cues == {} and not (rec.files_dir / "cues.npz").exists()
    assert scores_csv(rec).splitlines()[0] == "frame,t,score,smoothed"
