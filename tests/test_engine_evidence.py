"""Thumbnails show who drove the score: the engine draws a scorer's evidence (culprit box) on them."""

import cv2
import numpy as np

from core.engine import analyze
from core.scorers.base import Evidence, ModelInfo, Scorer, ScoringStream
from core.store import Store


class _BoxStream(ScoringStream):
    """Scores rise at frames 20..29; the culprit is a box at (100..200, 60..160) in scored pixels."""

    def __init__(self):
        super().__init__(live=False)
        self.n = 0

    def update(self, t, frame):
        self.n += 1

    def finish(self):
        s = np.zeros(self.n)
        s[20:30] = 0.9
        return s

    def evidence(self, index):
        box = np.array([[100, 60, 200, 160], [10, 10, 40, 40]], np.float32)
        return Evidence(box, np.zeros((2, 17, 3), np.float32), culprit=0)


class _BoxScorer(Scorer):
    info = ModelInfo("box-test", "1", "test", "test")

    def stream(self, live=False):
        return _BoxStream()


def test_culprit_box_is_drawn_on_the_thumbnail_at_the_right_scale(make_video):
    # 640x480 source, scored at max_side 320 -> thumbnails at 480 px: boxes scale by 1.5
    path = make_video("big.avi", n=40, size=(480, 640), slow_speed=0.0)
    from core.config import ScoringConfig

    rec = analyze(path, scorer=_BoxScorer(), scoring=ScoringConfig(max_side=320), store=Store())
    top = rec.moments[0]
    assert 20 <= top.frame < 30
    img = cv2.imread(str(rec.thumbnails[top.frame]))
    assert img.shape[1] == 480
    # culprit box left edge at x = 100 * 1.5 = 150, between y = 90 and 240: red (BGR 40, 40, 240)
    edge = img[100:230, 149:152].reshape(-1, 3).astype(int)
    assert (edge[:, 2] > 180).mean() > 0.8 and (edge[:, 1] < 110).mean() > 0.8
    # the other person's box is grey, not red
    other = img[15:60, 15:16].reshape(-1, 3).astype(int)
    assert (np.abs(other[:, 2] - other[:, 1]) < 40).mean() > 0.8


def test_progress_names_the_whole_video_steps_after_the_last_frame(make_video):
    """After the last frame the bar says which step runs (no stale frame count and "0:00 left")."""
    seen = []
    analyze(make_video("p.avi", n=40), scorer=_BoxScorer(), store=Store(), progress=seen.append)
    stages = [p.stage for p in seen if p.stage]
    assert stages == [
        "finishing the scores (each moment against the whole video)",
        "naming what is in the worst moments and drawing the thumbnails",
    ]
    first_stage = next(i for i, p in enumerate(seen) if p.stage)
    assert all(not p.stage and p.eta is not None for p in seen[:first_stage])  # frames: counts and time left
    assert all(p.eta is None and p.frames == 40 for p in seen if p.stage)
    assert seen[-1].fraction == 1.0 and seen[-1].message == "Done"


class _TinyStream(_BoxStream):
    """The same rise, with a culprit box and a cause to write, in the pixels of a 33x17 video."""

    def evidence(self, index):
        return Evidence(np.array([[12, 4, 24, 14]], np.float32), culprit=0, cause="fast object")


class _TinyScorer(_BoxScorer):
    def stream(self, live=False):
        return _TinyStream()


def test_a_tiny_videos_thumbnail_is_enlarged_so_its_label_leaves_the_picture_readable(tmp_path):
    from conftest import write_video

    frames = [np.full((17, 33, 3), 200, np.uint8) for _ in range(40)]  # light grey: the label's box is black
    rec = analyze(write_video(tmp_path / "tiny.avi", frames), scorer=_TinyScorer(), store=Store())
    img = cv2.imread(str(rec.thumbnails[rec.moments[0].frame]))
    w, h = rec.meta.width, rec.meta.height  # MJPG may round 33x17 down to even sizes
    assert w <= 33 and img.shape[:2] == (round(320 * h / w), 320)  # enlarged to 320 px wide, its shape kept
    # the label's black box: it covered more than half of the 33x17 picture, now a small corner of it
    label = (img.max(axis=2) < 40).mean()
    assert 0.0 < label < 0.1, label
    assert (img[:, :, 2] > 180).any() and (img[:, :, 1] < 110).any()  # the culprit's red box is drawn too
