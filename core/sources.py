"""Video sources: files, numbered-image folders, uploaded bytes and links -> timestamped frames.

``open_source(x)`` accepts a path (video file or frame folder), ``bytes`` or an http(s) link (any site
yt-dlp supports, or a direct video URL) and returns a ``VideoSource`` whose metadata is read up front.
``VideoSource.frames(fps, max_side)`` is a generator of ``Frame(index, t, image)``: resampled to the
analysis fps and resized early, so a 4K or hour-long video streams in bounded memory.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import cv2
import numpy as np

from core.config import SourceLimits, data_dir
from core.db import storage_error
from core.errors import (
    AnalysisCancelled,
    BadURLError,
    EmptyFileError,
    NetworkError,
    NotAVideoError,
    NotAVideoLinkError,
    SourceError,
    StillImageError,
    StorageError,
    TooFewFramesError,
    TooLongError,
    UnavailableVideoError,
)
from core.netguard import (
    FETCH_FAILED,
    FetchPolicy,
    ForbiddenAddressError,
    guarded_proxy,
    has_credentials,
    strip_credentials,
)
from core.retention import RetentionPolicy, enforce_cap, touch
from core.running import RunningAnalyses

VIDEO_EXTS = {".mp4", ".avi", ".mkv", ".mov", ".mpg", ".mpeg", ".webm", ".m4v", ".wmv", ".flv", ".ts"}
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"}
FOLDER_FPS = 10.0  # numbered-frame folders carry no fps; UCSD (and most such datasets) are 10 fps

Progress = Callable[[float, str], None]  # (fraction 0..1, message)


@dataclass(frozen=True)
class Frame:
    """One decoded frame. index: native frame number (0-based); t: seconds; image: BGR uint8 (H,W,3)."""

    index: int
    t: float
    image: np.ndarray


@dataclass(frozen=True)
class VideoMeta:
    name: str
    fps: float
    frame_count: int
    width: int
    height: int
    codec: str

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


def resize_max_side(image: np.ndarray, max_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return image
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _as_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _sample_times(native_t: float, next_t: float) -> bool:
    # Keep a frame when it reaches the next sampling instant (a tiny tolerance absorbs float error).
    return native_t + 1e-6 >= next_t


class VideoSource:
    """Base: metadata, content hash and a frame generator."""

    path: Path
    meta: VideoMeta

    def frames(
        self, fps: float | None = None, max_side: int | None = None, start: float = 0.0, end: float | None = None
    ) -> Iterator[Frame]:
        raise NotImplementedError

    def read_at(self, indices: list[int], max_side: int | None = None) -> dict[int, np.ndarray]:
        """Random access to a few native frames (thumbnails). Missing indices are left out."""
        raise NotImplementedError

    @property
    def sha256(self) -> str:
        raise NotImplementedError

    def expected_samples(self, fps: float | None) -> int:
        if not fps or fps >= self.meta.fps:
            return self.meta.frame_count
        return int(self.meta.duration * fps) + 1


# what to do next, after "is not a video this app can read"
NOT_A_VIDEO_NEXT = (
    "Pick a video file (mp4, avi, mkv, mov…); if it plays elsewhere, it may be damaged or use a codec this server "
    "cannot decode."
)


class VideoFile(VideoSource):
    def __init__(self, path: str | Path, name: str | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise SourceError(f"File not found: {self.path}")
        if self.path.is_dir():
            raise SourceError(f"{self.path} is a folder; give a video file or a folder of numbered images.")
        if self.path.stat().st_size == 0:
            raise EmptyFileError(f"'{name or self.path.name}' is empty (0 bytes).")
        if self.path.suffix.lower() in IMAGE_EXTS:
            raise StillImageError(f"'{name or self.path.name}' is a still image, not a video.")
        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                raise NotAVideoError(f"'{name or self.path.name}' is not a video this app can read. {NOT_A_VIDEO_NEXT}")
            fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            fourcc = int(cap.get(cv2.CAP_PROP_FOURCC) or 0)
            ok, first = cap.read()
            # Times count from the first frame shown (AVI/H.264 often stamps it 0.2 s: decoder delay).
            origin = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 if ok else 0.0
            ok2 = ok and cap.grab()
        finally:
            cap.release()
        if not ok or w <= 0 or h <= 0:
            raise NotAVideoError(
                f"'{name or self.path.name}' is not a video this app can read (no frame decodes). {NOT_A_VIDEO_NEXT}"
            )
        if not ok2 or count == 1:
            raise TooFewFramesError(f"'{name or self.path.name}' has a single frame; a video needs at least two.")
        if not (0 < fps < 1000):
            fps = 25.0  # containers without a rate (some webm/mkv): a common default beats refusing
        codec = "".join(chr((fourcc >> 8 * i) & 0xFF) for i in range(4)).strip("\x00 ") or "unknown"
        self.meta = VideoMeta(name or self.path.name, float(fps), max(count, 2), w, h, codec)
        self._sha: str | None = None
        self._times: dict[int, float] = {}  # decode index -> presentation time (s) of frames() yielded
        self._origin = origin if np.isfinite(origin) and origin > 0 else 0.0

    @property
    def sha256(self) -> str:
        if self._sha is None:
            self._sha = _file_sha256(self.path)
        return self._sha

    def frames(self, fps=None, max_side=None, start=0.0, end=None) -> Iterator[Frame]:
        """Frames with ``t`` = each frame's own presentation time (s from the stream start), not
        ``index / fps``: a variable-frame-rate file or one with lost frames keeps its true times.
        ``index`` counts decoded frames (0-based)."""
        native = self.meta.fps
        # Sampled on presentation times whenever a rate is asked: a variable-rate file's average fps
        # (what the header gives) says nothing about how dense its frames are locally.
        step = 1.0 / fps if fps else 0.0
        cap = cv2.VideoCapture(str(self.path))
        try:
            if start > 0:  # OpenCV's time seek counts from the first frame already (no origin to add)
                cap.set(cv2.CAP_PROP_POS_MSEC, start * 1000.0)
            index = int(round(start * native))
            next_t = start
            last_t: float | None = None
            while cap.grab():  # decodes; the colour conversion (retrieve) only for frames we keep
                t = _presentation_time(cap, index, native, last_t, self._origin)
                if last_t is None and start > 0:
                    index = int(round(t * native))  # a seek lands on a key frame near start: number it by time
                last_t = t
                if end is not None and t > end:
                    return
                if _sample_times(t, next_t):
                    ok, image = cap.retrieve()
                    if not ok:
                        return
                    if max_side:
                        image = resize_max_side(image, max_side)
                    self._times[index] = t  # kept frames only: thumbnails are taken among them
                    yield Frame(index, t, _as_bgr(image))
                    next_t += step if step else 0.0
                    if step and next_t < t:  # catch up after a gap
                        next_t = t + step
                index += 1
        finally:
            cap.release()

    def read_at(self, indices, max_side=None) -> dict[int, np.ndarray]:
        """Frames by decode index. An index ``frames()`` yielded is found by its presentation time (OpenCV's
        frame seek misses by a frame or more on variable-rate files); others by OpenCV's frame seek."""
        out: dict[int, np.ndarray] = {}
        cap = cv2.VideoCapture(str(self.path))
        try:
            for i in sorted(set(indices)):
                t = self._times.get(i)
                if t is None:
                    cap.set(cv2.CAP_PROP_POS_FRAMES, i)
                    ok, image = cap.read()
                else:
                    ok, image = _read_at_time(cap, t + self._origin)
                if ok and image is not None:
                    out[i] = _as_bgr(resize_max_side(image, max_side) if max_side else image)
        finally:
            cap.release()
        return out


def _read_at_time(cap: cv2.VideoCapture, t: float, tol: float = 1e-3) -> tuple[bool, np.ndarray | None]:
    """The frame presented at ``t`` s: seek before it (a time seek may overshoot), then decode forward."""
    for back in (1.0, 5.0, t):
        cap.set(cv2.CAP_PROP_POS_MSEC, max(0.0, t - back) * 1000.0)
        if not cap.grab():
            continue
        pos = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if pos > t + tol:  # landed after it: seek further back
            continue
        while pos < t - tol:
            if not cap.grab():
                return False, None
            pos = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        return cap.retrieve()
    return False, None


def _presentation_time(
    cap: cv2.VideoCapture, index: int, native_fps: float, last_t: float | None, origin: float = 0.0
) -> float:
    """The grabbed frame's presentation time (s); ``index / fps`` only when the stream carries none, and
    never earlier than the previous frame (a damaged file's stray timestamp must not reorder the track)."""
    t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 - origin
    if not np.isfinite(t) or (t <= 0.0 and index > 0):
        t = index / native_fps if last_t is None else last_t + 1.0 / native_fps
    if last_t is not None and t <= last_t:
        t = last_t + 1e-3
    return t


_NUM = re.compile(r"(\d+)")


def _natural_key(p: Path):
    return [int(s) if s.isdigit() else s for s in _NUM.split(p.name)]


class FrameFolder(VideoSource):
    """A folder of numbered images (e.g. UCSD ``000.jpg``...), played at ``fps`` (default 10)."""

    def __init__(self, path: str | Path, fps: float = FOLDER_FPS, name: str | None = None):
        self.path = Path(path)
        self.files = sorted((p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_EXTS), key=_natural_key)
        if len(self.files) == 0:
            raise NotAVideoError(f"Folder '{self.path.name}' holds no video and no numbered images.")
        if len(self.files) == 1:
            raise TooFewFramesError(f"Folder '{self.path.name}' holds a single image; a video needs at least two.")
        first = cv2.imread(str(self.files[0]), cv2.IMREAD_UNCHANGED)
        if first is None:
            raise NotAVideoError(f"'{self.files[0].name}' in '{self.path.name}' is not a readable image.")
        h, w = first.shape[:2]
        self.meta = VideoMeta(name or self.path.name, fps, len(self.files), w, h, "images")
        self._sha: str | None = None

    @property
    def sha256(self) -> str:
        if self._sha is None:
            h = hashlib.sha256()
            for p in self.files:
                h.update(p.name.encode())
                h.update(p.read_bytes())
            self._sha = h.hexdigest()
        return self._sha

    def frames(self, fps=None, max_side=None, start=0.0, end=None) -> Iterator[Frame]:
        native = self.meta.fps
        step = 1.0 / fps if fps and fps < native else 0.0
        next_t = start
        for index, p in enumerate(self.files):
            t = index / native
            if t + 1e-9 < start:
                continue
            if end is not None and t > end:
                return
            if not _sample_times(t, next_t):
                continue
            image = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if image is None:
                return
            yield Frame(index, t, resize_max_side(image, max_side) if max_side else image)
            next_t += step

    def read_at(self, indices, max_side=None) -> dict[int, np.ndarray]:
        out = {}
        for i in indices:
            if 0 <= i < len(self.files):
                image = cv2.imread(str(self.files[i]), cv2.IMREAD_COLOR)
                if image is not None:
                    out[i] = resize_max_side(image, max_side) if max_side else image
        return out


def prefetched(frames: Iterator[Frame], depth: int = 8) -> Iterator[Frame]:
    """Decode ahead in a background thread (bounded to ``depth`` frames) while the caller scores.

    OpenCV releases the GIL while decoding and computing flow, so on 2 cores decode and scoring overlap.
    Errors in the decoder are re-raised in the caller; closing the generator stops the decoder.
    """
    import queue

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for fr in frames:
                while not stop.is_set():
                    try:
                        q.put(fr, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: object = done
        except BaseException as err:  # handed to the consumer, which re-raises it
            item = err
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    worker = threading.Thread(target=produce, name="vigil-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)
        close = getattr(frames, "close", None)
        if close is not None and not worker.is_alive():
            close()


# --- uploaded bytes ----------------------------------------------------------------------------------
def uploads_dir() -> Path:
    return data_dir() / "videos"


def upload_problem(filename: str) -> str | None:
    """What is wrong with an upload by its name alone, in words (a still image); None: worth trying to read. An
    unusual extension is tried (CCTV exports use many); its content decides."""
    ext = Path(filename).suffix.lower()
    if ext in IMAGE_EXTS:
        return (
            f"'{filename}' is a still image, not a video. Upload a video file "
            f"({', '.join(sorted(e.lstrip('.') for e in VIDEO_EXTS))})."
        )
    return None


def save_upload(data: bytes, filename: str, directory: Path | None = None) -> Path:
    """Keep uploaded bytes content-addressed (``<sha256><ext>``) so reopening an analysis finds them."""
    return _save_upload(data, filename, directory)[0]


def _save_upload(data: bytes, filename: str, directory: Path | None = None) -> tuple[Path, bool]:
    """(path, created): ``created`` is False when the same bytes were already kept."""
    if len(data) == 0:
        raise EmptyFileError(f"'{filename}' is empty (0 bytes).")
    ext = Path(filename).suffix.lower()
    if ext in IMAGE_EXTS:
        raise StillImageError(f"'{filename}' is a still image, not a video.")
    directory = directory or uploads_dir()
    digest = hashlib.sha256(data).hexdigest()
    dest = directory / f"{digest}{ext if ext in VIDEO_EXTS else '.bin'}"
    if dest.exists():
        touch(dest)
        return dest, False
    tmp = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except OSError as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)  # nothing half-written stays behind
        raise (storage_error(err, directory) or err) from err
    enforce_cap(directory, RetentionPolicy.from_settings().uploads_max_bytes, keep=[dest, *_recorded_videos()])
    return dest, True


def _recorded_videos() -> list[Path]:
    """The videos of analyses under way or interrupted (``core.running``): the uploads cap must not delete what
    Run again needs. A store that cannot be read keeps nothing back (the cap still bounds the disk)."""
    try:
        return RunningAnalyses().videos()
    except StorageError:
        return []


def discard_upload(path: Path, referenced: bool) -> bool:
    """Delete a kept upload that was rejected (not a video, too short...) unless an analysis uses it."""
    path = Path(path)
    if referenced or path.parent.resolve() != uploads_dir().resolve():
        return False
    path.unlink(missing_ok=True)
    return True


# --- links ---------------------------------------------------------------------------------------------
def downloads_dir() -> Path:
    return data_dir() / "downloads"


def check_url(url: str) -> str:
    """Validate what a user typed into the link field; returns the cleaned URL or raises BadURLError."""
    url = (url or "").strip()
    if not url:
        raise BadURLError("Paste a link to a video (https://...).")
    parsed = urlparse(url)
    bare_file = "/" not in url and Path(url).suffix.lower() in VIDEO_EXTS  # "clip.avi": a name, not a site
    if (
        parsed.scheme == "file"
        or url.startswith(("/", "~", "./", "../"))
        or re.match(r"^[A-Za-z]:[\\/]", url)
        or bare_file
    ):
        raise BadURLError("That is a local file, not a link: use the file upload (or the CLI) for files.")
    if "://" not in url and re.match(r"^[\w-]+(\.[\w-]+)*\.[A-Za-z]{2,}(:\d+)?([/?#]|$)", url):
        return check_url(f"https://{url}")  # "youtube.com/watch?v=..." as a browser's address bar takes it
    if not parsed.scheme:
        raise BadURLError(
            "That is not a link: paste the video page's full address, starting with https:// (or http://)."
        )
    if parsed.scheme not in ("http", "https"):
        raise BadURLError(f"Links must start with http:// or https://, not {parsed.scheme}://.")
    if not parsed.netloc:
        raise BadURLError("That link has no host name.")
    return url


def _classify_ytdlp_error(msg: str, url: str) -> SourceError:
    """A readable error for what yt-dlp said. Network-level failures all read ``FETCH_FAILED``, so the
    wording never tells a closed port from an open one; the host is named without credentials."""
    low = msg.lower()
    host = urlparse(url).hostname or "that site"
    if any(
        s in low
        for s in (
            "private video",
            "video unavailable",
            "has been removed",
            "sign in to confirm",
            "members-only",
            "not available in your country",
            "copyright",
            "login required",
            "this video is private",
            "account associated",
            "http error 403",
            "http error 410",
        )
    ):
        return UnavailableVideoError(f"The video at {host} is private, removed or needs a login.")
    if "http error 404" in low:
        return UnavailableVideoError(f"Nothing found at that link ({host} answered 404).")
    if "unsupported url" in low or "no video formats" in low or "no media found" in low or "not a video" in low:
        return NotAVideoLinkError(f"No video found at that link ({host}).")
    if "does not pass filter" in low or "file is larger than max-filesize" in low or "too long" in low:
        return TooLongError("The video at that link is longer or larger than the allowed limit.")
    return NetworkError(FETCH_FAILED)


# Only formats yt-dlp downloads itself (through the guard): ffmpeg would fetch HLS/DASH/RTMP on its own.
_NATIVE = "[protocol~='^(https?|m3u8_native)$']"
_FORMAT = f"best[height<=720][ext=mp4]{_NATIVE}/best[height<=720]{_NATIVE}/best{_NATIVE}"


def download_url(
    url: str,
    limits: SourceLimits | None = None,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
    policy: FetchPolicy | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Path:
    """Download a video link with yt-dlp into the cache and return the file.

    Every connection yt-dlp opens (redirects included) goes through ``netguard.guarded_proxy``: only
    addresses ``policy`` permits are reached. Limits on duration and size are checked before and during
    the download. Raises BadURLError, NetworkError (``FETCH_FAILED``), UnavailableVideoError,
    NotAVideoLinkError or TooLongError with a readable message. Repeat downloads of the same link are
    served from the cache (links with credentials excepted). ``cancelled()`` True stops the download at its next
    block with AnalysisCancelled; nothing of it is kept.
    """
    import yt_dlp

    url = check_url(url)
    limits = limits or SourceLimits()
    policy = policy or FetchPolicy.from_settings()
    cache_dir = cache_dir or downloads_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    # A link with credentials is never looked up nor named by its text (that would be a password hash);
    # its file is named by content, and each use downloads again with the caller's own credentials.
    key = None if has_credentials(url) else hashlib.sha256(url.encode()).hexdigest()[:20]
    cached = [p for p in cache_dir.glob(f"{key}.*") if p.suffix not in (".part", ".ytdl", ".tmp")] if key else []
    if cached:
        touch(cached[0])
        return cached[0]
    policy.check_url(url)  # fast refusal; the proxy below checks again on every connection

    def hook(d: dict) -> None:
        if cancelled is not None and cancelled():
            raise yt_dlp.utils.DownloadCancelled("cancelled by the user")  # yt-dlp's own way to stop a download
        if progress is None:
            return
        if d.get("status") == "downloading":
            total = d.get("total_bytes") or d.get("total_bytes_estimate") or 0
            done = d.get("downloaded_bytes") or 0
            progress(min(1.0, done / total) if total else 0.0, f"Downloading {done / 1e6:.1f} MB")
        elif d.get("status") == "finished":
            progress(1.0, "Download finished")

    def too_long(info: dict, *, incomplete: bool = False) -> str | None:
        if info.get("is_live"):
            return "too long: a live stream has no end"
        duration = info.get("duration")
        if duration and duration > limits.max_duration:
            return f"too long: {duration:.0f} s > limit {limits.max_duration:.0f} s"
        size = info.get("filesize") or info.get("filesize_approx")
        if size and size > limits.max_bytes:
            return f"too long: file of {size / 1e6:.0f} MB > limit {limits.max_bytes / 1e6:.0f} MB"
        return None

    workdir = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".dl-"))
    opts = {
        "outtmpl": str(workdir / "video.%(ext)s"),
        "format": _FORMAT,
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
        "noplaylist": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "socket_timeout": limits.timeout,
        "retries": 1,
        "max_filesize": limits.max_bytes,
        "match_filter": too_long,
        "progress_hooks": [hook],
        "logger": _SilentLogger(),
    }
    try:
        with guarded_proxy(policy, limits.timeout) as proxy:
            try:
                with yt_dlp.YoutubeDL({**opts, "proxy": proxy.url}) as ydl:
                    info = ydl.extract_info(url, download=True)
            except (yt_dlp.utils.YoutubeDLError, OSError) as err:
                if cancelled is not None and cancelled():
                    raise AnalysisCancelled("Analysis cancelled; nothing was saved.") from None
                if proxy.refused:
                    raise ForbiddenAddressError(FETCH_FAILED) from None
                storage = _storage_problem(err, cache_dir)
                if storage is not None:
                    raise storage from None
                raise _classify_ytdlp_error(str(err), url) from None
        files = [p for p in workdir.iterdir() if p.is_file() and p.suffix not in (".part", ".ytdl")]
        if info is None or not files:
            if info is not None and too_long(info):
                raise TooLongError(f"The video at that link is {too_long(info)}.")
            if info is not None and (info.get("url") or info.get("formats")):
                # yt-dlp found a video but skipped it: only our size/duration filters do that.
                raise TooLongError(
                    f"The video at that link is larger or longer than the limit "
                    f"({limits.max_bytes / 1e6:.0f} MB, {limits.max_duration:.0f} s)."
                )
            raise NotAVideoLinkError(f"No video found at that link ({urlparse(url).hostname}).")
        got = max(files, key=lambda p: p.stat().st_size)
        if got.stat().st_size > limits.max_bytes:
            raise TooLongError("The video at that link is larger than the allowed limit.")
        dest = cache_dir / f"{key or _file_sha256(got)[:20]}{got.suffix.lower() or '.mp4'}"
        os.replace(got, dest)
        enforce_cap(cache_dir, RetentionPolicy.from_settings().downloads_max_bytes, keep=[dest])
        return dest
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _storage_problem(err: BaseException, where: Path) -> StorageError | None:
    """yt-dlp reports a full or read-only disk as a download error; say what it is."""
    if isinstance(err, OSError):
        return storage_error(err, where)
    low = str(err).lower()
    if "no space left" in low or "disk quota" in low:
        return storage_error(OSError(errno.ENOSPC, low), where)
    if "read-only file system" in low:
        return storage_error(OSError(errno.EROFS, low), where)
    return None


class _SilentLogger:
    """yt-dlp prints to stderr by default; errors come back to us as exceptions instead."""

    def debug(self, msg):
        pass

    def info(self, msg):
        pass

    def warning(self, msg):
        pass

    def error(self, msg):
        pass


def is_url(x: object) -> bool:
    return isinstance(x, str) and bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", x.strip()))


def open_source(
    x: str | Path | bytes,
    name: str | None = None,
    limits: SourceLimits | None = None,
    progress: Progress | None = None,
    folder_fps: float = FOLDER_FPS,
    cancelled: Callable[[], bool] | None = None,
) -> VideoSource:
    """Open a path (file or frame folder), uploaded bytes, or an http(s) link.

    A link's credentials (``user:pass@``) are used for the download only: the source's name is the link
    without them. ``cancelled()`` True stops a link's download (AnalysisCancelled).
    """
    if isinstance(x, bytes | bytearray):
        path, created = _save_upload(bytes(x), name or "upload.mp4")
        try:
            return VideoFile(path, name=name or "upload")
        except SourceError:
            if created:
                path.unlink(missing_ok=True)  # a rejected upload is not kept
            raise
    if is_url(x):
        url = check_url(str(x))
        limits = limits or SourceLimits()
        path = download_url(url, limits, progress, cancelled=cancelled)
        try:
            src = VideoFile(path, name=strip_credentials(name or url))
        except SourceError:
            path.unlink(missing_ok=True)  # never keep a bad download in the cache
            raise
        if src.meta.duration > limits.max_duration:
            path.unlink(missing_ok=True)
            raise TooLongError(
                f"The video at that link lasts {src.meta.duration:.0f} s; the limit is {limits.max_duration:.0f} s."
            )
        return src
    path = Path(x).expanduser()
    if path.is_dir():
        return FrameFolder(path, fps=folder_fps, name=name)
    return VideoFile(path, name=name)
