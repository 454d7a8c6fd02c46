"""Pose value objects: the ultralytics adapter on a real frame, skeleton features, and the pose scorer's
round trip through save, registry and load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.families.pose.features import (
    KEYPOINT_MIN_CONF,
    N_FEATURES,
    POSE_TFLITE,
    PoseDetections,
    PoseTrackSet,
    TrackHistory,
    skeleton_features,
)


@pytest.fixture(scope="module")
def pose_result():
    """The int8 TFLite pose model's raw ultralytics result on a vtest frame with a person in it."""
    import cv2
    from ultralytics import YOLO

    from tests.conftest import shared_path

    model = YOLO(str(shared_path("models", POSE_TFLITE)), task="pose")
    cap = cv2.VideoCapture(str(shared_path("data", "clips", "vtest.avi")))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 40)
    ok, frame = cap.read()
    cap.release()
    assert ok
    return frame, model.predict(frame, conf=0.25, verbose=False)[0], model


def test_adapter_maps_a_real_result_to_the_value_object(pose_result):
    frame, result, _ = pose_result
    det = PoseDetections.from_ultralytics(result)
    h, w = frame.shape[:2]
    assert len(det) >= 1, "vtest frame 40 has a clearly visible pedestrian"
    assert det.boxes.shape == (len(det), 4) and det.keypoints.shape == (len(det), 17, 3)
    assert np.allclose(det.boxes, result.boxes.xyxy.numpy())
    assert (det.track_id == -1).all(), "predict (not track) gives untracked people"
    assert (det.boxes[:, [0, 2]] >= -1).all() and (det.boxes[:, [0, 2]] <= w + 1).all()
    seen = det.keypoints[..., 2] >= KEYPOINT_MIN_CONF
    assert seen.any()
    assert (det.keypoints[~seen] == 0).all(), "low-confidence keypoints are missing (zeros)"
    raw = result.keypoints.data.numpy()
    assert np.allclose(det.keypoints[seen], raw[seen])
    # Seen keypoints lie around their person's box.
    for i in range(len(det)):
        x1, y1, x2, y2 = det.boxes[i]
        pts = det.keypoints[i][seen[i]]
        pad = 0.25 * (y2 - y1)
        assert ((pts[:, 0] > x1 - pad) & (pts[:, 0] < x2 + pad) & (pts[:, 1] > y1 - pad) & (pts[:, 1] < y2 + pad)).all()


def test_adapter_on_a_frame_without_people(pose_result):
    frame, _, model = pose_result
    det = PoseDetections.from_ultralytics(model.predict(np.zeros_like(frame), verbose=False)[0])
    assert len(det) == 0 and det.keypoints.shape == (0, 17, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"boxes": np.zeros((2, 3), np.float32)}, "boxes must be"),
        ({"boxes": np.zeros((1, 4), np.float32)}, "one entry per box"),
        (
            {
                "boxes": np.zeros((1, 4), np.float32),
                "confidence": np.ones(1, np.float32),
                "track_id": np.zeros(1, np.int64),
                "keypoints": np.full((1, 17, 3), 0.2, np.float32),
            },
            "must be zeros",
        ),
    ],
)
def test_value_object_refuses_bad_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PoseDetections(**kwargs)


def test_skeleton_features_are_box_relative_and_mask_missing_points():
    kp = np.zeros((17, 3), np.float32)
    kp[0] = [50, 20, 0.9]  # nose, top centre of the box
    kp[5] = [40, 40, 0.3]  # below the confidence floor
    f, m = skeleton_features(np.array([40, 20, 60, 100]), kp, np.array([30, 20, 50, 100]), 0.5, (200, 300))
    assert f.shape == m.shape == (N_FEATURES,)
    assert f[0] == pytest.approx(0.0) and f[1] == pytest.approx(-0.5)  # (x - cx)/h, (y - cy)/h
    assert m[0] and m[1] and not m[10] and not m[11]  # point 5's x, y are masked
    assert f[34] == 1.0 and f[39] == 0.0  # visibility flags
    assert f[51] == pytest.approx((10 / 80) / 0.5)  # centre moved 10 px in 0.5 s, in box heights/s


def walker_trackset(n: int = 60, fast: bool = False) -> PoseTrackSet:
    """One person walking right at 5 frames/s (or running 8x faster), skeleton upright."""
    t = np.arange(n) / 5.0
    speed = 40.0 if fast else 5.0
    boxes, kps = [], []
    for i in range(n):
        x = 20 + speed * t[i] % 200
        boxes.append([x, 50, x + 30, 130])
        kp = np.zeros((17, 3), np.float32)
        for k in range(17):
            kp[k] = [x + 15 + 5 * np.sin(i + k), 55 + 4.5 * k, 0.9]
        kps.append(kp)
    return PoseTrackSet(
        t,
        np.arange(n),
        np.array(boxes, np.float32),
        np.ones(n, np.float32),
        np.ones(n, np.int64),
        np.array(kps, np.float32),
        np.array([240, 320]),
    )


def test_track_history_windows_are_bounded_and_padded():
    h = TrackHistory(steps=20)
    ts = walker_trackset(30)
    for i, (t, det) in enumerate(ts.frames()):
        h.update(t, det, (240, 320))
        if i == 4:
            w, m = h.window(1)
            assert w.shape == (20, N_FEATURES) and np.allclose(w[0], w[15])  # edge-padded start
    assert h.length(1) == 20  # keeps only what a window needs


def test_pose_model_round_trips_through_save_registry_and_load(shared_models, monkeypatch, tmp_path):
    from core.families.pose.fit import pose_result
    from core.families.pose.scorer import PoseNormality, PoseScorer, score_trackset
    from core.registry import get_spec, load_scorer
    from core.train import register

    monkeypatch.setenv("VIGIL_MODELS_DIR", str(shared_models))
    model = PoseNormality.fit([walker_trackset(60), walker_trackset(40)], epochs=8, hidden=16, seed=0)
    normal = score_trackset(model, walker_trackset(30))
    running = score_trackset(model, walker_trackset(30, fast=True))
    assert running[5:].mean() > normal[5:].mean(), "a person moving 8x faster must look stranger"

    result = pose_result(model, shared_models / POSE_TFLITE, {"videos": 2})

    class Src:  # register() records each training video's name and hash
        class meta:  # noqa: N801
            name = "synthetic"

        sha256 = "0" * 64

    card_path = register(result, "test-pose", "unit test", [Src()])
    card = json.loads(card_path.read_text())
    assert card["kind"] == "pose-lstm-ae" and card["weights"][0]["file"] == POSE_TFLITE
    assert get_spec("test-pose").params["pose_weights"] == POSE_TFLITE
    scorer = load_scorer("test-pose")
    assert isinstance(scorer, PoseScorer) and scorer.info.preferred_fps == 5.0
    assert np.allclose(score_trackset(scorer.model, walker_trackset(30, fast=True)), running)


def test_pose_stream_on_real_video_names_the_culprit(shared_models, vtest):
    from core.families.pose.scorer import PoseNormality, PoseScorer
    from core.registry import ModelSpec
    from core.sources import open_source

    model = PoseNormality.fit([walker_trackset(60)], epochs=3, hidden=8, seed=0)
    scorer = PoseScorer(ModelSpec("p", "pose-lstm-ae"), shared_models / POSE_TFLITE, model)
    stream = scorer.stream(live=False)
    for i, fr in enumerate(open_source(vtest).frames(fps=5, start=8.0)):
        stream.update(fr.t, fr.image)
        if i == 11:
            break
    scores = stream.finish()
    assert len(scores) == 12 and ((scores >= 0) & (scores <= 1)).all()
    scored = [i for i, s in enumerate(scores) if s > 0]
    assert scored, "people tracked for 3+ frames must get a score"
    ev = stream.evidence(scored[-1])
    assert 0 <= ev.culprit < len(ev.boxes) and ev.keypoints.shape == (len(ev.boxes), 17, 3)
