"""Browser playback and annotated clips, encoded as H.264 MP4 with PyAV (libx264).

Browsers play H.264/VP9/AV1 in MP4 or WebM, not OpenCV's mp4v, MJPG/AVI or frame folders, so
``playable_video`` transcodes those once into ``$VIGIL_DATA_DIR/playable/<sha256>.mp4``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import av
import cv2
import numpy as np

from core.config import data_dir
from core.events import Segment
from core.images import upscaled
from core.overlay import MIN_SIDE, Overlay, annotate, score_colour
from core.sources import FrameFolder, VideoSource

PLAYABLE_CODECS = {"h264", "vp8", "vp9", "av1"}
PLAYABLE_CONTAINERS = ("mp4", "mov", "webm", "matroska")
PLAY_MAX_SIDE = 960


def is_browser_playable(path: str | Path) -> bool:
    """True for MP4/WebM files whose video is H.264, VP8/9 or AV1 in yuv420p."""
    p = Path(path)
    if p.is_dir() or p.suffix.lower() not in (".mp4", ".m4v", ".webm", ".mov"):
        return False
    try:
        with av.open(str(p)) as c:
            if not any(name in c.format.name for name in PLAYABLE_CONTAINERS):
                return False
            vs = c.streams.video
            if not vs:
                return False
            ctx = vs[0].codec_context
            return ctx.name in PLAYABLE_CODECS and (ctx.pix_fmt or "yuv420p") in ("yuv420p", "yuvj420p")
    except (av.error.FFmpegError, OSError):
        return False


def _even(x: int) -> int:
    return max(2, x - (x % 2))


def encode_h264(
    frames: Iterable[np.ndarray],
    dest: Path,
    fps: float,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Encode BGR frames (all the same size) to an H.264 MP4 at ``dest``, atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".enc-", suffix=".mp4")
    os.close(fd)
    try:
        with av.open(tmp, "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = None
            for i, img in enumerate(frames):
                if stream is None:
                    h, w = img.shape[:2]
                    stream = out.add_stream("libx264", rate=max(1, round(fps)))
                    stream.width, stream.height, stream.pix_fmt = _even(w), _even(h), "yuv420p"
                    stream.options = {"preset": "veryfast", "crf": "23"}
                if img.shape[1] != stream.width or img.shape[0] != stream.height:
                    img = cv2.resize(img, (stream.width, stream.height))
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")):
                    out.mux(packet)
                if progress:
                    progress(i + 1)
            if stream is None:
                raise ValueError("no frames to encode")
            for packet in stream.encode():
                out.mux(packet)
        os.replace(tmp, dest)
        return dest
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def playable_video(
    source: VideoSource, cache_dir: Path | None = None, progress: Callable[[float], None] | None = None
) -> Path:
    """A file the browser can play: the original when it already is, else a cached H.264 transcode."""
    if not isinstance(source, FrameFolder) and is_browser_playable(source.path):
        return source.path
    cache_dir = cache_dir or data_dir() / "playable"
    dest = cache_dir / f"{source.sha256}.mp4"
    if dest.exists():
        return dest
    total = max(1, source.meta.frame_count)
    frames = (f.image for f in source.frames(max_side=PLAY_MAX_SIDE))
    return encode_h264(frames, dest, source.meta.fps, (lambda n: progress(min(1.0, n / total))) if progress else None)


def clip_caption(t: float, score: float) -> str:
    """The words drawn on an annotated clip's frame at ``t`` s: its time as the results page writes it
    ('m:ss.s', ``ui.charts.mmss``) and its score."""
    t = max(0.0, float(t))
    return f"{int(t // 60)}:{t % 60:04.1f}  score {score:.2f}"


def annotated_clip(
    source: VideoSource,
    track_t: np.ndarray,
    track_score: np.ndarray,
    segment: Segment,
    threshold: float,
    dest: Path,
    pad: float = 1.0,
    max_seconds: float = 60.0,
) -> Path:
    """H.264 clip of ``segment`` (plus ``pad`` s around it, at most ``max_seconds``) with the score drawn
    by the same annotator as the live picture: bar along the bottom, red border inside the segment.

    The score of each native frame is interpolated from the analysed samples (``track_t`` s, 0..1). Frames under
    ``MIN_SIDE`` px are enlarged first, so that the caption and the bar leave the picture in view.
    """
    start = max(0.0, segment.start - pad)
    end = min(segment.end + pad, start + max_seconds)

    def frames():
        for f in source.frames(max_side=PLAY_MAX_SIDE, start=start, end=end):
            s = float(np.interp(f.t, track_t, track_score))
            inside = segment.start <= f.t <= segment.end
            caption = clip_caption(f.t, s)
            colour = score_colour(s, threshold, inside)
            overlay = Overlay(s, threshold, colour, border="thick" if inside else "none", caption=caption)
            yield annotate(upscaled(f.image, MIN_SIDE).copy(), overlay)

    return encode_h264(frames(), dest, source.meta.fps)
