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
from core.scorers.base import Evidence
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


# COCO-17 skeleton edges (keypoint index pairs).
SKELETON = [(5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16)]


def draw_evidence(frame: np.ndarray, evidence: Evidence, sx: float = 1.0, sy: float = 1.0) -> np.ndarray:
    """Draw who drove the score (in place): every box thin grey, the culprit's red; skeletons.

    Evidence is in the scored frame's pixels; ``sx``/``sy`` scale it to ``frame``. Keypoints with
    confidence below 0.5 are missing, not at (0, 0).
    """
    for i, (x1, y1, x2, y2) in enumerate(evidence.boxes):
        c = (40, 40, 240) if i == evidence.culprit else (220, 220, 220)
        cv2.rectangle(frame, (int(x1 * sx), int(y1 * sy)), (int(x2 * sx), int(y2 * sy)), c, 2)
    for person in evidence.keypoints:
        pts = [(int(x * sx), int(y * sy)) if c >= 0.5 else None for x, y, c in person]
        for a, b in SKELETON:
            if pts[a] and pts[b]:
                cv2.line(frame, pts[a], pts[b], (255, 200, 0), 2)
        for pt in pts:
            if pt:
                cv2.circle(frame, pt, 3, (0, 255, 255), -1)
    return frame


def draw_score(image: np.ndarray, t: float, score: float, threshold: float, in_segment: bool) -> np.ndarray:
    """Overlay a score bar (top strip), the time and the score (second strip) on a BGR frame (a copy)."""
    img = image.copy()
    h, w = img.shape[:2]
    bar_h = max(10, h // 24)
    colour = (40, 40, 230) if score > threshold else (60, 180, 60)
    cv2.rectangle(img, (0, 0), (w, 2 * bar_h + 12), (20, 20, 20), -1)
    cv2.rectangle(img, (4, 4), (4 + int((w - 8) * min(1.0, score)), 4 + bar_h), colour, -1)
    tx = 4 + int((w - 8) * threshold)
    cv2.line(img, (tx, 2), (tx, bar_h + 6), (255, 255, 255), 1)
    label = f"{int(t // 60):02d}:{t % 60:04.1f}  score {score:.2f}"
    scale = bar_h / 24
    cv2.putText(img, label, (6, 2 * bar_h + 8), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    if in_segment:
        cv2.rectangle(img, (0, 0), (w - 1, h - 1), (40, 40, 230), max(2, w // 160))
    return img


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
    """H.264 clip of ``segment`` (plus ``pad`` s around it, at most ``max_seconds``) with the score drawn.

    The score of each native frame is interpolated from the analysed samples (``track_t`` s, 0..1).
    """
    start = max(0.0, segment.start - pad)
    end = min(segment.end + pad, start + max_seconds)

    def frames():
        for f in source.frames(max_side=PLAY_MAX_SIDE, start=start, end=end):
            s = float(np.interp(f.t, track_t, track_score))
            yield draw_score(f.image, f.t, s, threshold, segment.start <= f.t <= segment.end)

    return encode_h264(frames(), dest, source.meta.fps)
