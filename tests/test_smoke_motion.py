"""The motion scorer peaks where a still-ish scene suddenly moves fast, and stays low on a still clip."""

import numpy as np

from core.config import ScoringConfig
from core.engine import score_source
from core.registry import load_scorer
from core.sources import open_source


def test_sudden_fast_motion_peaks_there(make_video):
    path = make_video("fast.avi", n=80, fast_from=50, fast_to=58)
    frames, t, score = score_source(open_source(path), load_scorer("motion"), ScoringConfig(fps=10))
    peak_frame = frames[int(np.argmax(score))]
    assert 50 <= peak_frame <= 58
    assert score.max() > 0.5
    assert np.median(score[:45]) < 0.2


def test_still_clip_stays_low(make_video):
    path = make_video("still.avi", n=40, slow_speed=0.0)
    _, _, score = score_source(open_source(path), load_scorer("motion"), ScoringConfig(fps=10))
    assert score.max() < 0.1


def test_repeated_frames_keep_the_motion_and_a_real_standstill_drops_to_zero():
    from conftest import moving_square_frames

    from core.families.motion.features import MotionFeaturizer

    moving = moving_square_frames(n=30, slow_speed=8.0)
    # a 25 fps source on a 30 fps camera: every 5th frame is sent twice
    shown = [f for i, f in enumerate(moving) for _ in range(2 if i % 5 == 4 else 1)]
    fz = MotionFeaturizer(work_side=160)
    activity = [float(fz.update(i / 30, f)[..., 1].max()) for i, f in enumerate(shown)]
    assert min(activity[1:]) > 0.5 * float(np.median(activity[1:]))  # no zero-flow dips on repeats
    # then the scene freezes for a second: after the repeat window it is a standstill, not motion
    still = [fz.update(len(shown) / 30 + k / 30, moving[-1])[..., 1].max() for k in range(30)]
    assert still[1] > 0 and still[-1] == 0.0
