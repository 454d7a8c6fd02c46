"""The one annotator (core/overlay.py) and the small image helpers (core/images.py)."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from core.events import ScoreTrack, held_sample
from core.images import encode_jpeg, jpeg_data_uri, upscaled, write_jpeg
from core.overlay import ABOVE, ALERT, NORMAL, Overlay, annotate, score_colour
from core.scorers.base import Evidence


def grey(h=240, w=320) -> np.ndarray:
    return np.full((h, w, 3), 128, np.uint8)


def test_an_empty_overlay_draws_nothing():
    assert np.array_equal(annotate(grey(), Overlay()), grey())


def test_bar_border_caption_and_scaled_evidence_land_where_documented():
    ev = Evidence(boxes=np.array([[50, 25, 100, 75]], np.float32), culprit=0)  # in a 160x120 scored frame
    out = annotate(grey(), Overlay(0.5, 0.25, ALERT, "thick", ev, (120, 160), caption="hello"))
    assert tuple(out[231, 100]) == ALERT and tuple(out[231, 200]) == (40, 40, 40)  # fill to 4 + 311*0.5
    assert tuple(out[231, 4 + int(311 * 0.25)]) == (255, 255, 255)  # threshold tick
    assert tuple(out[120, 0]) == ALERT  # border
    assert tuple(out[100, 100]) == (40, 40, 240)  # box scaled x2: left edge at x = 100
    assert (out[4:16, 4:40] == 0).any() and (out[4:16, 4:40] == 255).any()  # caption box with text


def test_live_picture_and_exported_clip_draw_the_same_bar():
    from core.alerts import RuleState, RuleStatus
    from core.live import _View, draw_overlay

    status = RuleStatus(RuleState.NORMAL, smoothed=0.3, anomalous_for=0.0, cooldown_left=0.0, capped=False)
    live = draw_overlay(grey(), _View(0.3, status, Evidence.empty(), (240, 320)), 0.6, "m")
    clip = annotate(grey(), Overlay(0.3, 0.6, score_colour(0.3, 0.6, False)))
    # the bar rows (inside the live picture's thin border) are pixel for pixel the same
    assert np.array_equal(live[200:236, 2:-2], clip[200:236, 2:-2])
    assert tuple(clip[231, 50]) == NORMAL and tuple(clip[231, 4 + int(311 * 0.6)]) == (255, 255, 255)


@pytest.mark.parametrize(
    "score, anomalous, colour", [(0.2, False, NORMAL), (0.7, False, ABOVE), (0.7, True, ALERT), (0.2, True, ALERT)]
)
def test_score_colour(score, anomalous, colour):
    assert score_colour(score, 0.5, anomalous) == colour


def test_jpeg_helpers_round_trip(tmp_path):
    img = grey(20, 30)
    data = encode_jpeg(img)
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).shape == (20, 30, 3)
    path = write_jpeg(tmp_path / "a.jpg", img)
    assert path.read_bytes()[:2] == b"\xff\xd8" and not (tmp_path / "a.jpg.tmp").exists()
    uri = jpeg_data_uri(path)
    assert uri.startswith("data:image/jpeg;base64,") and base64.b64decode(uri.split(",", 1)[1]) == path.read_bytes()
    assert jpeg_data_uri(data) == uri and jpeg_data_uri(None) is None and jpeg_data_uri(tmp_path / "no.jpg") is None
    with pytest.raises(ValueError):
        encode_jpeg(np.zeros((0, 0, 3), np.uint8))


def test_nearest_sample_lookups():
    track = ScoreTrack.from_scores([0, 5, 10, 15], [0.0, 0.5, 1.0, 1.5], [0.1, 0.9, 0.2, 0.3], smooth_seconds=0)
    assert [track.index_at(t) for t in (-1.0, 0.2, 0.3, 1.4, 9.0)] == [0, 0, 1, 3, 3]
    assert track.frame_at(0.9) == 10
    m = track.moment_at(0.6)
    assert (m.t, m.frame, m.score) == (0.5, 5, 0.9)
    with pytest.raises(IndexError):
        ScoreTrack.empty().index_at(0.0)


def test_held_sample_takes_the_last_sample_at_or_before_each_frame():
    assert held_sample(np.array([2, 5, 9]), 11).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    assert held_sample(np.array([0]), 3).tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    "shape, out",
    [
        ((17, 33, 3), (165, 320, 3)),
        ((640, 360, 3), (640, 360, 3)),
        ((240, 320, 3), (240, 320, 3)),
        ((0, 0, 3), (0, 0, 3)),
    ],
)
def test_upscaled_enlarges_only_what_is_below_the_size(shape, out):
    img = np.zeros(shape, np.uint8)
    big = upscaled(img, 320)
    assert big.shape == out
    assert (big is img) == (shape == out)  # a frame already large enough is not copied nor resampled
