"""Black bars cut before the fight head sees a frame (core.families.movinet.borders), and the fight stream that
uses them: a pillarboxed clip scores exactly like the same clip without its bars."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_path

from core.families.movinet.borders import BLACK_LEVEL, BorderCrop, content_box


def _picture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(40, 255, (h, w, 3), dtype=np.uint8)


def _pillarbox(img: np.ndarray, width: int, noise: bool = False) -> np.ndarray:
    h, w = img.shape[:2]
    out = np.full((h, width, 3), 16, np.uint8)  # video-range black
    x = (width - w) // 2
    out[:, x : x + w] = img
    if noise:  # coding noise in the bars: a few bright specks
        rng = np.random.default_rng(1)
        ys, xs = rng.integers(0, h, 20), rng.integers(0, x, 20)
        out[ys, xs] = 200
    return out


def test_pillarbox_bars_are_cut_and_specks_in_them_do_not_count():
    img = _picture(360, 480)
    framed = _pillarbox(img, 640, noise=True)
    assert content_box(framed) == (80, 0, 560, 360)
    out = BorderCrop()(framed)
    assert out.shape == (360, 480, 3) and np.array_equal(out, img)


def test_a_frame_without_bars_is_passed_as_it_is_and_an_all_black_one_too():
    img = _picture(240, 320)
    crop = BorderCrop()
    assert crop(img) is img
    black = np.zeros((240, 320, 3), np.uint8)
    assert BorderCrop()(black) is black


def test_thin_edges_stay():
    img = _picture(360, 640)
    img[:, :5] = 0  # 5 px of 640 (< 2 %): an encoder's edge, not a bar
    assert BorderCrop()(img).shape == (360, 640, 3)


def test_the_box_grows_within_a_shot_and_restarts_at_a_cut():
    crop = BorderCrop()
    dark_left = _pillarbox(_picture(360, 480), 640)
    dark_left[:, 80:200] = BLACK_LEVEL  # a dark part of the picture at first
    assert crop(dark_left).shape[1] == 360
    assert crop(_pillarbox(_picture(360, 480, 2), 640)).shape[1] == 480  # the picture widens the box
    assert crop(dark_left).shape[1] == 480  # ... and it does not shrink back within the shot
    crop.reset()
    assert crop(dark_left).shape[1] == 360
    assert crop(_picture(300, 400)).shape == (300, 400, 3)  # another frame size is another shot


@pytest.mark.slow
def test_a_pillarboxed_clip_scores_like_the_clip_without_bars(monkeypatch):
    """The real MoViNet stream under a deborder head: the same frames with and without pillarbox bars give the
    same window scores; a head without deborder scores them differently (the test can fail)."""
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(shared_path("models")))
    from core.families.fight.head import FightHead, HeadConfig
    from core.families.fight.stream import FightScorer
    from core.registry import weight_path
    from core.sources import open_source

    src = open_source(shared_path("data", "fights", "fight", "fi001.mp4"))
    frames = [(f.t, f.image) for f in src.frames(fps=5.0, max_side=640)]
    h, w = frames[0][1].shape[:2]
    width = int(round(h * 16 / 9))
    assert width > w + 0.04 * width, "needs a clip narrower than 16:9"
    weights = weight_path("movinet_a0_stream_int8.tflite")
    rng = np.random.default_rng(0)
    coef = rng.normal(0, 1, 480)

    def scores(deborder: bool, framed: bool) -> np.ndarray:
        head = FightHead(HeadConfig(features="emb", deborder=deborder), np.zeros(480), np.ones(480), coef, 0.0)
        stream = FightScorer("toy", "0", "", weights, head).stream()
        for t, img in frames:
            stream.update(t, _pillarbox(img, width) if framed else img)
        return stream.finish()

    plain = scores(True, False)
    np.testing.assert_allclose(scores(True, True), plain, atol=1e-6)
    assert np.abs(scores(False, True) - scores(False, False)).max() > 0.01


def test_the_fast_box_equals_its_definition():
    """content_box (OpenCV reductions) against the plain definition: a line holds picture when more than
    CONTENT_SHARE of its pixels have a channel brighter than BLACK_LEVEL. Equal, so cached features stay valid."""
    from core.families.movinet.borders import CONTENT_SHARE

    def definition(frame):
        bright = (frame.max(axis=2) if frame.ndim == 3 else frame) > BLACK_LEVEL
        cols = np.flatnonzero(bright.mean(axis=0) > CONTENT_SHARE)
        rows = np.flatnonzero(bright.mean(axis=1) > CONTENT_SHARE)
        return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1) if len(cols) and len(rows) else None

    rng = np.random.default_rng(3)
    for _ in range(200):
        h, w = (int(v) for v in rng.integers(10, 200, 2))
        sparse = (rng.random((h, w, 3)) < rng.random() * 0.06) * rng.integers(0, 256, (h, w, 3))
        frame = sparse.astype(np.uint8)
        assert content_box(frame) == definition(frame)
        assert content_box(np.ascontiguousarray(frame[..., 0])) == definition(frame[..., 0])
