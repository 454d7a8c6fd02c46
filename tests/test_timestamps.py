"""Variable-frame-rate and damaged files: every frame is timed by its presentation time, not index / fps."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import moving_square_frames, write_video

from core.engine import analyze
from core.sources import VideoFile

FAST = (85, 95)  # frames with the fast square


def ffmpeg(src: Path, dest: Path, vf: str) -> Path:
    assert shutil.which("ffmpeg"), "ffmpeg is needed (scripts/test.sh installs it)"
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-i", str(src), "-vf", vf, "-fps_mode", "vfr"]
    subprocess.run([*cmd, "-c:v", "libx264", "-preset", "veryfast", "-g", "25", str(dest)], check=True)
    return dest


def presentation_times(path: Path) -> list[float]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=pts_time",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [float(f["pts_time"]) for f in json.loads(out)["frames"]]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("vfr")
    src = write_video(d / "cfr.avi", moving_square_frames(n=120, fast_from=FAST[0], fast_to=FAST[1]), fps=25)
    return {
        # 25 fps for 50 frames, then a 4 s jump and one frame every 0.12 s
        "vfr": ffmpeg(src, d / "vfr.mp4", "setpts='if(lt(N,50),N,N*3)/TB/25'"),
        # frames 40..59 lost: a 0.8 s hole in an otherwise 25 fps stream
        "lost": ffmpeg(src, d / "lost.mp4", "select='not(between(n,40,59))',setpts=PTS-STARTPTS"),
    }


@pytest.mark.parametrize("kind", ["vfr", "lost"])
def test_every_frame_carries_its_presentation_time(clips, kind):
    pts = presentation_times(clips[kind])
    frames = list(VideoFile(clips[kind]).frames())
    assert len(frames) == len(pts)
    assert max(abs(f.t - pts[f.index]) for f in frames) < 1e-3
    assert all(b.t > a.t for a, b in zip(frames, frames[1:], strict=False))


def test_resampling_follows_true_time(clips):
    pts = presentation_times(clips["vfr"])
    frames = list(VideoFile(clips["vfr"]).frames(fps=10))
    assert all(abs(f.t - pts[f.index]) < 1e-3 for f in frames)
    dense = [f for f in frames if f.t < 2.0]  # 25 fps part: 10 of every 25 (the header's 8.5 fps average is not used)
    sparse = [f for f in frames if f.t >= 6.0]  # one frame every 0.12 s: all kept
    assert len(dense) == 20 and len(sparse) == 70


@pytest.mark.parametrize("kind", ["vfr", "lost"])
def test_moments_and_segments_are_at_their_true_times(clips, kind):
    pts = presentation_times(clips[kind])
    # motion: a per-frame scorer, so the peak sits on the fast frames (the default model treats the 20 lost
    # frames as a cut and does not judge the short shot after it)
    rec = analyze(VideoFile(clips[kind]), model="motion")
    one_frame = max(np.diff(pts))  # the coarsest spacing in the file
    assert np.allclose(rec.track.t, [pts[int(f)] for f in rec.track.frame], atol=1e-3)
    shift = 20 if kind == "lost" else 0  # decode index of source frame i once 20 earlier frames are lost
    fast_lo, fast_hi = pts[FAST[0] - shift], pts[FAST[1] - 1 - shift]
    top = rec.moments[0]
    assert abs(top.t - pts[top.frame]) < 1e-3
    assert fast_lo - one_frame <= top.t <= fast_hi + one_frame, (top.t, fast_lo, fast_hi)
    assert fast_lo - one_frame <= rec.peak[1] <= fast_hi + one_frame
    # the stored thumbnail of the top moment is the frame shown at that time (not a neighbour)
    thumb = cv2.imread(str(rec.thumbnails[top.frame])).astype(int)
    frames = list(VideoFile(clips[kind]).frames())
    assert int(np.argmin([np.abs(thumb - f.image.astype(int)).mean() for f in frames])) == top.frame
