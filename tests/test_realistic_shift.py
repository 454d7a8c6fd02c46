"""The low-fps shift copy (``benchmarks/realistic_shift.py``): every second frame is kept at its own time, so the
labels taken at the scored frames' times are the clean labels of the frames kept."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from core.evalsets import Upload
from core.media import encode_h264
from core.sources import VideoFile

REPO = Path(__file__).resolve().parent.parent
BITS, STRIPE = 8, 16  # the frame number written as 8 black/white stripes, 16 px wide: survives CRF 28


@pytest.fixture(scope="module")
def shift():
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("realistic_shift", REPO / "benchmarks" / "realistic_shift.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _numbered(n: int) -> list[np.ndarray]:
    """(64, 128, 3) BGR frames showing their own number (bit b set = stripe b white)."""
    frames = []
    for i in range(n):
        img = np.zeros((64, BITS * STRIPE, 3), np.uint8)
        for b in range(BITS):
            if (i >> b) & 1:
                img[:, b * STRIPE : (b + 1) * STRIPE] = 255
        frames.append(img)
    return frames


def _number_of(img: np.ndarray) -> int:
    cols = img.mean(axis=(0, 2)).reshape(BITS, STRIPE)[:, 4:-4].mean(axis=1)  # stripe centres: no edge ringing
    return int(sum(1 << b for b in range(BITS) if cols[b] > 128))


@pytest.mark.parametrize("fps, n", [(25.0, 61), (10.0, 45)])  # a compilation's rate and Ped2's; odd counts
def test_low_fps_copy_keeps_every_second_frame_at_its_time_and_label(shift, tmp_path, fps, n):
    scale, crf, key_s, step = shift.ENCODINGS["low-fps"]
    assert (scale, crf, key_s, step) == (1.0, 28, 2.0, 2)  # as declared in benchmarks/audits/README.md
    clean = encode_h264(iter(_numbered(n)), tmp_path / "clean.mp4", fps)
    copy = shift.reencode(clean, tmp_path / "copy.mp4", scale, crf, key_s, step)
    # per-frame ground truth: frames 13..29 anomalous, as an interval in seconds (as the uploads store it)
    first, last = 13, 29
    truth = np.zeros(n, bool)
    truth[first : last + 1] = True
    up = Upload("u", copy, "fights", "report", 1, fps / step, n / fps, [(first / fps, (last + 1) / fps)], [])

    src = VideoFile(copy)
    assert src.meta.fps == pytest.approx(fps / step)
    got = list(src.frames())
    numbers = [_number_of(f.image) for f in got]
    assert numbers == list(range(0, n, step))  # every second clean frame, in order, none lost or repeated
    t = np.array([f.t for f in got])
    assert t == pytest.approx(np.array(numbers) / fps, abs=2e-3)  # each at the clean frame's own time
    assert up.labels_at(t).tolist() == truth[numbers].tolist()  # frame labels follow the kept frames

    # the engine's analysis rate (10 frames/s) samples the copy: still each scored frame's own clean label
    sampled = list(VideoFile(copy).frames(fps=10.0))
    numbers = [_number_of(f.image) for f in sampled]
    assert all(k % step == 0 for k in numbers)
    assert up.labels_at(np.array([f.t for f in sampled])).tolist() == truth[numbers].tolist()
