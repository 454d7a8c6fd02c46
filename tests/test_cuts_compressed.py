"""Scene cuts and the person-down cue on compressed footage of a real camera (vtest.avi from ../shared).

A compressed video's key frames restore colour and detail all over the picture at once; the old jump test
(on PySceneDetect's HSV content score) called them cuts: 4-10 false cuts in 80 s of ordinary uploads, each
restarting every cue's baseline. A false restart of the person-down cue's background model while people
stand in the picture left *ghosts* that turned "down" as the model absorbed them.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from core.families.cuts.detector import CutDetector
from core.families.objects.stream import ObjectsStream
from tests.conftest import shared_path

SIZE = (320, 240)


def _vtest(start_s: float, end_s: float) -> list[np.ndarray]:
    """vtest.avi (10 fps) frames from ``start_s`` to ``end_s``, resized to SIZE (BGR uint8)."""
    cap = cv2.VideoCapture(str(shared_path("data", "clips", "vtest.avi")))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    out, i = [], 0
    while True:
        ok, f = cap.read()
        if not ok or i / fps >= end_s:
            break
        if i / fps >= start_s:
            out.append(cv2.resize(f, SIZE, interpolation=cv2.INTER_AREA))
        i += 1
    cap.release()
    return out


def _encode(frames: list[np.ndarray], path: Path, crf: int, keyint: int) -> Path:
    """H.264 at 10 fps with a key frame every ``keyint`` frames (and none at scene changes), like an upload."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        s.options = {
            "preset": "veryfast",
            "crf": str(crf),
            "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0",
        }
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="bgr24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def _cuts(path: Path, jumps: bool = False) -> list[float]:
    """The cuts a CutDetector finds in ``path`` (10 fps); ``jumps``: only those it calls camera jumps."""
    cap = cv2.VideoCapture(str(path))
    det, i = CutDetector(), 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        det.update(i / 10.0, f)
        i += 1
    cap.release()
    return det.jumps if jumps else det.cuts


@pytest.fixture(scope="module")
def calm(tmp_path_factory) -> list[np.ndarray]:
    return _vtest(0.0, 40.0)


@pytest.mark.parametrize("crf,keyint", [(33, 30), (28, 50), (23, 100)])
def test_key_frames_of_a_compressed_video_are_not_cuts(calm, tmp_path, crf, keyint):
    path = _encode(calm, tmp_path / "calm.mp4", crf, keyint)
    assert _cuts(path) == []


def test_a_join_of_one_cameras_clips_is_still_a_cut(tmp_path):
    # vtest 0-20 s then 50-70 s: the same camera, people elsewhere (a jump in time)
    path = _encode(_vtest(0.0, 20.0) + _vtest(50.0, 70.0), tmp_path / "join.mp4", 28, 50)
    assert _cuts(path) == pytest.approx([20.0], abs=0.11)
    assert _cuts(path, jumps=True) == _cuts(path)  # one scene on both sides: a camera jump, not a new scene


def test_a_cut_between_scenes_is_not_a_camera_jump(tmp_path):
    a, b = _vtest(0.0, 10.0), _vtest(20.0, 30.0)
    path = _encode(a + [255 - f for f in b], tmp_path / "scenes.mp4", 23, 100)  # another scene: inverted
    assert _cuts(path) == pytest.approx([10.0], abs=0.11)
    assert _cuts(path, jumps=True) == []


def test_people_standing_when_the_background_model_starts_leave_no_person_down():
    """The stream starts (as after a cut) at 41 s with people standing; as they walk off, the spots they
    stood on are foreground until the model absorbs them, shrinking from the top: a short wide blob where
    nothing moves. Before the fall check it lay "down" for 10.3 s (score 0.9)."""
    stream = ObjectsStream(live=False)
    for i, f in enumerate(_vtest(41.0, 70.0)):
        stream.update(41.0 + i / 10.0, f)
    stream.finish()
    assert stream.cue_scores()["person_down"].max() == 0.0
