"""Segments from score tracks: hysteresis, minimum duration, merge gap, flapping and the empty track."""

import numpy as np
import pytest

from core.config import EventConfig
from core.events import (
    ScoreTrack,
    Segment,
    SegmentTracker,
    TrailingMean,
    fraction_anomalous,
    segments_from_track,
    smooth,
    top_moments,
)


def track(values, step=1.0):
    v = np.asarray(values, dtype=float)
    t = np.arange(len(v)) * step
    return ScoreTrack(np.arange(len(v)), t, v, v)  # smoothed == raw: the tables test segmentation only


CFG = dict(threshold=0.5, hysteresis=0.2, smooth_seconds=0.0)


@pytest.mark.parametrize(
    "values, cfg, expected",
    [
        # empty and all-normal tracks give nothing
        ([], {}, []),
        ([0.1] * 10, {}, []),
        # one clean segment: opens at the first value > 0.5, closes at the first value < 0.3
        ([0, 0, 0.9, 0.9, 0.9, 0, 0], {}, [(2, 5)]),
        # hysteresis: dipping to 0.4 (not below off=0.3) keeps it open
        ([0, 0.9, 0.4, 0.4, 0.9, 0.1, 0], {}, [(1, 5)]),
        # flapping across the on threshold without merge gap -> several short segments
        ([0, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1], {"merge_gap": 0.0}, [(1, 2), (3, 4), (5, 6)]),
        # the same flapping with a merge gap of 2 s -> one segment
        ([0, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0, 0, 0], {"merge_gap": 2.0}, [(1, 6)]),
        # minimum duration drops the blip and keeps the long one
        ([0, 0.9, 0, 0, 0, 0.9, 0.9, 0.9, 0.9, 0], {"min_duration": 2.0, "merge_gap": 0.0}, [(5, 9)]),
        # a segment still open at the end is closed at the end of the track
        ([0, 0, 0.8, 0.8], {}, [(2, 4)]),
        # exactly at the threshold is not above it
        ([0.5, 0.5, 0.5], {}, []),
    ],
)
def test_segments_table(values, cfg, expected):
    segs = segments_from_track(track(values), EventConfig(**{**CFG, "min_duration": 0.0, "merge_gap": 0.0, **cfg}))
    assert [(s.start, s.end) for s in segs] == expected


def test_peak_is_on_raw_score_with_its_time():
    tr = ScoreTrack(np.arange(6), np.arange(6) * 0.5, [0, 0.7, 0.95, 0.8, 0, 0], [0, 0.6, 0.6, 0.6, 0, 0])
    (seg,) = segments_from_track(tr, EventConfig(**{**CFG, "min_duration": 0, "merge_gap": 0}))
    assert seg.peak == pytest.approx(0.95)
    assert seg.peak_t == pytest.approx(1.0)


@pytest.mark.parametrize(
    "raw, peak_t",
    [
        # a flat plateau (one window's score over a short clip): the middle of the plateau, not its first sample
        ([0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.6], 2.0),
        # an even run: the earlier of its two central samples (a sample's own time, as plateau_middle)
        ([0.6, 0.8, 0.8, 0.8, 0.8, 0.6, 0.6], 2.0),
        # a single maximum is where it is
        ([0.6, 0.7, 0.9, 0.7, 0.6, 0.6, 0.6], 2.0),
        # two separate runs of the same maximum: the middle of the first
        ([0.6, 0.9, 0.9, 0.9, 0.7, 0.9, 0.9], 2.0),
        # a higher value after a plateau starts a new peak
        ([0.8, 0.8, 0.8, 0.7, 0.95, 0.95, 0.6], 4.0),
    ],
)
def test_peak_time_is_the_middle_of_the_first_run_of_the_maximum(raw, peak_t):
    smoothed = [0.9] * len(raw)  # one segment over the whole track: only the raw score moves
    tr = ScoreTrack(np.arange(len(raw)), np.arange(len(raw), dtype=float), raw, smoothed)
    (seg,) = segments_from_track(tr, EventConfig(**{**CFG, "min_duration": 0, "merge_gap": 0}))
    assert seg.peak == pytest.approx(max(raw))
    assert seg.peak_t == pytest.approx(peak_t)


def test_a_segment_peaks_at_the_same_sample_as_the_video_on_a_flat_maximum():
    """One peak, one time: the segment's peak time is a sample's time and the one the video's peak (and its worst
    moment) names. Before, an 8-sample plateau from 1.602 s put the video's peak at 1.902 s and its segment's at
    1.952 s, shown as 0:01.9 and 0:02.0 on one page."""
    from core.events import plateau_middle

    t = np.round(np.arange(30) * 0.1 + 0.002, 3)
    raw = np.where((t >= 1.6) & (t <= 2.31), 0.735, 0.3)
    tr = ScoreTrack(np.arange(30), t, raw, np.where(raw > 0.5, 0.9, 0.1))
    (seg,) = segments_from_track(tr, EventConfig(**{**CFG, "min_duration": 0, "merge_gap": 0}))
    i = plateau_middle(raw, int(np.argmax(raw)))
    assert seg.peak_t == t[i] == pytest.approx(1.902)
    assert top_moments(tr, 1, 1.0)[0].t == seg.peak_t


def test_streaming_peak_time_moves_with_an_open_plateau_and_survives_a_merge():
    tracker = SegmentTracker(on=0.5, off=0.3, merge_gap=5.0)
    for t in range(4):
        tracker.update(float(t), 0.9, 0.8)
    # mid-stream the open segment's peak is the middle sample of the plateau so far (0..3 s: 1 s)
    assert tracker.flush(3.0)[0].peak_t == pytest.approx(1.0)
    tracker = SegmentTracker(on=0.5, off=0.3, merge_gap=5.0)
    for t, v, r in [(0, 0.9, 0.8), (1, 0.9, 0.8), (2, 0.1, 0.1), (3, 0.9, 0.8), (4, 0.9, 0.8), (5, 0.1, 0.1)]:
        tracker.update(float(t), v, r)
    # re-opened within the gap: the first run (0..1 s) keeps the peak; the equal run at 3..4 s does not move it
    (seg,) = tracker.flush()
    assert (seg.start, seg.end, seg.peak, seg.peak_t) == (0.0, 5.0, 0.8, 0.0)


def test_tracker_streams_like_offline_and_reports_active_time():
    values = [0, 0.9, 0.9, 0.9, 0.1, 0, 0, 0.9, 0.9, 0]
    cfg = EventConfig(**{**CFG, "min_duration": 0, "merge_gap": 1.5})
    tracker = SegmentTracker.from_config(cfg)
    live = []
    for t, v in enumerate(values):
        live += tracker.update(float(t), v)
        if t == 3:
            assert tracker.active and tracker.active_for(3.0) == pytest.approx(2.0)
    live += tracker.flush(float(len(values)))
    assert live == segments_from_track(track(values), cfg)
    assert [(s.start, s.end) for s in live] == [(1, 4), (7, 9)]


def test_segment_validates_order():
    with pytest.raises(ValueError):
        Segment(2.0, 1.0, 0.5, 1.5)


def test_smooth_is_a_centred_average_and_keeps_length():
    t = np.arange(10) * 0.1
    s = np.zeros(10)
    s[5] = 1.0
    out = smooth(s, t, 0.3)  # 3 samples
    assert out.shape == (10,)
    assert out[4] == pytest.approx(1 / 3) and out[5] == pytest.approx(1 / 3) and out[6] == pytest.approx(1 / 3)
    assert out[2] == 0.0
    assert smooth(s, t, 0.0).tolist() == s.tolist()


def test_trailing_mean_forgets_old_samples():
    m = TrailingMean(1.0)
    assert m.update(0.0, 1.0) == 1.0
    assert m.update(0.5, 0.0) == 0.5
    assert m.update(1.2, 0.0) == 0.0  # the sample at t=0 fell out of the window


def test_top_moments_are_distinct_in_time_and_worst_first():
    v = np.array([0.1, 0.9, 0.95, 0.2, 0.1, 0.8, 0.1, 0.1, 0.7, 0.1])
    moments = top_moments(track(v), k=3, min_separation=2.0)
    assert [m.frame for m in moments] == [2, 5, 8]
    assert moments[0].score == pytest.approx(0.95)
    assert top_moments(ScoreTrack.empty(), 3, 1.0) == []


def test_fraction_anomalous():
    tr = track([0] * 10)
    assert fraction_anomalous(tr, [Segment(0, 5, 0.9, 1)]) == pytest.approx(0.5)
    assert fraction_anomalous(ScoreTrack.empty(), []) == 0.0


def test_scoretrack_rejects_mismatched_or_decreasing_input():
    with pytest.raises(ValueError):
        ScoreTrack([0, 1], [0.0, 1.0], [0.1])
    with pytest.raises(ValueError):
        ScoreTrack([0, 1], [1.0, 0.0], [0.1, 0.2])


@pytest.mark.parametrize("n, seconds", [(1, 1.0), (2, 1.0), (3, 1.0), (5, 0.3), (3, 30.0)])
def test_smooth_keeps_length_for_tracks_shorter_than_the_window(n, seconds):
    t = np.arange(n) * 0.1
    s = np.linspace(0.0, 1.0, n)
    out = smooth(s, t, seconds)
    assert out.shape == (n,)
    assert np.all((out >= s.min() - 1e-12) & (out <= s.max() + 1e-12))
    tr = ScoreTrack.from_scores(np.arange(n), t, s, seconds)
    assert len(tr.smoothed) == n


def test_top_moments_rank_on_the_raw_score_that_they_report():
    raw = np.array([0.1, 0.2, 0.9, 0.2, 0.1, 0.1, 0.6, 0.6, 0.6, 0.1])
    smoothed = np.array([0.1, 0.4, 0.4, 0.4, 0.1, 0.1, 0.6, 0.6, 0.6, 0.1])
    tr = ScoreTrack(np.arange(10), np.arange(10.0), raw, smoothed)
    moments = top_moments(tr, k=2, min_separation=2.0)
    assert moments[0].frame == 2 and moments[0].score == pytest.approx(0.9)
    assert moments[1].frame in (6, 7, 8) and moments[1].score == pytest.approx(0.6)


def test_a_flat_maximum_puts_the_video_peak_and_its_worst_moment_mid_plateau():
    from core.events import plateau_middle

    t = np.arange(20) / 10.0
    score = np.array([0.8] * 8 + [0.7, 0.6] + [0.1] * 10)  # one window's score over a clip shorter than a window
    assert plateau_middle(score, 0) == 3 and plateau_middle(score, 8) == 8 and plateau_middle(score, 19) == 14
    track = ScoreTrack.from_scores(np.arange(20), t, score, 0.0)
    first = top_moments(track, 3, 0.0)
    assert [m.frame for m in first] == [3, 8, 9]  # the plateau once, at its middle; then the next samples
    assert [m.frame for m in top_moments(track, 2, 0.6)] == [3, 9]  # 0.8 s is within 0.6 s of the plateau middle
