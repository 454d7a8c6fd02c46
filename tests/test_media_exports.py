"""Browser playback (H.264 via PyAV), the annotated clip, and the exports built from a stored analysis."""

import csv
import io
import json
import zipfile

import av
import numpy as np
import pytest
from conftest import write_video

from core import exports
from core.config import EventConfig
from core.engine import analyze
from core.events import Segment
from core.media import annotated_clip, is_browser_playable, playable_video
from core.sources import open_source
from core.store import Store


def probe(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
        return s.codec_context.name, s.codec_context.pix_fmt, frames


def test_avi_is_transcoded_to_h264_mp4_once(make_video, vigil_env):
    src = open_source(make_video("cam.avi", n=30))
    assert not is_browser_playable(src.path)
    out = playable_video(src)
    assert out.parent == vigil_env / "playable" and out.suffix == ".mp4"
    codec, pix, frames = probe(out)
    assert (codec, pix, len(frames)) == ("h264", "yuv420p", 30)
    assert is_browser_playable(out)
    mtime = out.stat().st_mtime_ns
    assert playable_video(src) == out and out.stat().st_mtime_ns == mtime  # cached, not re-encoded
    assert playable_video(open_source(out)) == out  # already playable: used as is


def test_frame_folder_becomes_playable(ucsd):
    out = playable_video(open_source(ucsd / "testing" / "frames" / "02"))
    codec, _, frames = probe(out)
    assert codec == "h264" and len(frames) == 180


def test_annotated_clip_covers_the_segment_and_draws_the_score(make_video, tmp_path):
    src = open_source(make_video("cam.avi", n=60, fps=10))
    t = np.arange(60) / 10
    score = np.where((t >= 2.0) & (t <= 3.0), 0.9, 0.1)
    dest = annotated_clip(src, t, score, Segment(2.0, 3.0, 0.9, 2.5), 0.5, tmp_path / "clip.mp4", pad=1.0)
    codec, _, frames = probe(dest)
    assert codec == "h264"
    assert len(frames) == 31  # 1.0 s .. 4.0 s inclusive at 10 fps
    # the live picture's bar (core/overlay.py): along the bottom, y 228..235 at 320x240, x 4..4+311*score;
    # x=200 is past a 0.1 bar and inside a 0.9 one
    red = frames[10][231, 200]  # t = 2.0 s, inside the segment: long red bar
    assert red[2] > 150 and red[1] < 100, red
    assert frames[0][231, 200].max() < 60  # t = 1.0 s, score 0.1: dark bar background there
    green = frames[0][231, 10]  # ...and a short green bar at its start
    assert green[1] > 120 and green[2] < 120, green
    assert frames[10][120, 0][2] > 150 and frames[0][120, 0][2] < 150  # red border only inside the segment


def test_a_tiny_videos_annotated_clip_is_enlarged_so_the_caption_and_bar_leave_the_picture(tmp_path):
    frames = [np.full((16, 32, 3), 200, np.uint8) for _ in range(30)]  # light grey: caption and bar are dark
    src = open_source(write_video(tmp_path / "tiny.avi", frames))
    t = np.arange(30) / 10
    dest = annotated_clip(src, t, np.full(30, 0.2), Segment(1.0, 2.0, 0.2, 1.5), 0.5, tmp_path / "c.mp4")
    _, _, out = probe(dest)
    assert out[0].shape == (160, 320, 3)  # 32x16 enlarged to 320 px wide, its shape kept
    # the caption's box and the bar: dark over most of the 32x16 picture, now a strip at the top and the bottom
    assert 0.0 < (out[0].max(axis=2) < 60).mean() < 0.3
    assert out[0][60:100, 100:220].min() > 150  # the middle of the picture is the picture


def test_exports_match_the_stored_analysis(make_video):
    rec = analyze(
        make_video("yard.avi", n=80, fast_from=40, fast_to=56),
        model="motion",
        store=Store(),
        events=EventConfig(threshold=0.3, min_duration=0.0),
    )
    rec = Store().load(rec.id)
    rows = list(csv.DictReader(io.StringIO(exports.scores_csv(rec))))
    assert len(rows) == 80 and [int(r["frame"]) for r in rows[:3]] == [0, 1, 2]
    assert float(rows[45]["score"]) == pytest.approx(rec.track.score[45], abs=1e-5)
    segs = list(csv.DictReader(io.StringIO(exports.segments_csv(rec))))
    assert [(float(s["start"]), float(s["end"])) for s in segs] == [
        (round(s.start, 3), round(s.end, 3)) for s in rec.segments
    ]
    payload = json.loads(exports.segments_json(rec))
    assert payload["summary"]["model"] == "motion" and len(payload["segments"]) == len(rec.segments)
    with zipfile.ZipFile(io.BytesIO(exports.thumbnails_zip(rec))) as z:
        names = z.namelist()
    assert len(names) == len(rec.thumbnails) and all(n.endswith(".jpg") for n in names)


def test_the_clips_drawn_time_reads_like_the_results_page():
    from core.media import clip_caption
    from ui.charts import mmss

    assert clip_caption(1.0, 0.55) == "0:01.0  score 0.55"  # was "00:01.0"
    for t in (0.0, 9.96, 61.25, 754.4):
        assert clip_caption(t, 0.5).split("  ")[0] == mmss(t)
