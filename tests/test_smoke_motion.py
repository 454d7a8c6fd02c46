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
