"""Shared fixtures: the ../shared data, an isolated data folder, and tiny video factories."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.settings import load_settings

REPO = Path(__file__).resolve().parent.parent
SHARED = load_settings({}).shared_dir  # VIGIL_SHARED_DIR, default ../shared


def shared_path(*parts: str) -> Path:
    """A file under ../shared; fails (never skips) with a clear message when it is missing."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.fail(f"{p} is missing: tests need the ../shared folder beside the repository (see README).")
    return p


@pytest.fixture
def vtest() -> Path:
    return shared_path("data", "clips", "vtest.avi")


@pytest.fixture
def ucsd() -> Path:
    return shared_path("data", "ucsd_ped2")


@pytest.fixture
def shared_models() -> Path:
    return shared_path("models")


@pytest.fixture(autouse=True)
def vigil_env(tmp_path, monkeypatch) -> Path:
    """Every test gets its own data folder and trained-model folder; nothing touches the repo's."""
    data = tmp_path / "vigil-data"
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data))
    monkeypatch.setenv("VIGIL_TRAINED_DIR", str(tmp_path / "trained-models"))
    monkeypatch.delenv("VIGIL_MODELS_DIR", raising=False)
    monkeypatch.delenv("VIGIL_ALLOW_PRIVATE_HOSTS", raising=False)  # links reach loopback only when a test says so
    return data


def moving_square_frames(
    n: int = 60,
    size: tuple[int, int] = (240, 320),
    fast_from: int | None = None,
    fast_to: int | None = None,
    slow_speed: float = 1.0,
    fast_speed: float = 25.0,
    seed: int = 0,
) -> list[np.ndarray]:
    """Textured background with a square moving slowly, and fast during frames [fast_from, fast_to).

    Returns n BGR uint8 frames of shape (H, W, 3). With slow_speed=0 and no fast window it is a still clip.
    """
    h, w = size
    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(rng.integers(0, 255, (h, w), dtype=np.uint8), (0, 0), 3)
    bg = cv2.cvtColor(bg, cv2.COLOR_GRAY2BGR)
    frames, x = [], 20.0
    for i in range(n):
        fast = fast_from is not None and fast_from <= i < (fast_to if fast_to is not None else n)
        x += fast_speed if fast else slow_speed
        span = w - 40  # bounce off the edges: a wrap-around would be a teleport, i.e. real anomalous motion
        xi = int(x) % (2 * span)
        xi = xi if xi < span else 2 * span - xi
        img = bg.copy()
        cv2.rectangle(img, (xi, h // 2 - 20), (xi + 40, h // 2 + 20), (255, 255, 255), -1)
        cv2.rectangle(img, (xi + 10, h // 2 - 10), (xi + 30, h // 2 + 10), (0, 0, 0), -1)
        frames.append(img)
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Write frames with OpenCV (MJPG in .avi, mp4v otherwise). Returns path."""
    h, w = frames[0].shape[:2]
    fourcc = cv2.VideoWriter_fourcc(*("MJPG" if path.suffix == ".avi" else "mp4v"))
    vw = cv2.VideoWriter(str(path), fourcc, fps, (w, h))
    assert vw.isOpened(), f"cannot write {path}"
    for f in frames:
        vw.write(f)
    vw.release()
    return path


SITE_FRAMES = 20  # frames of the clip the ``clip_site`` fixture serves


@pytest.fixture
def clip_site(tmp_path) -> Path:
    """A folder to serve over HTTP(S) with one short clip, ``clip.avi`` (320x240 MJPG, SITE_FRAMES at 10 fps)."""
    root = tmp_path / "site"
    root.mkdir()
    write_video(root / "clip.avi", moving_square_frames(n=SITE_FRAMES), fps=10)
    return root


@pytest.fixture
def make_video(tmp_path):
    """Factory: make_video(name='clip.avi', **moving_square_frames kwargs, fps=10) -> Path."""

    def make(name: str = "clip.avi", fps: float = 10.0, **kw) -> Path:
        return write_video(tmp_path / name, moving_square_frames(**kw), fps)

    return make


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves a folder; remembers request paths in ``hits`` and keeps test output clean."""

    hits: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).hits.append(self.path)
        super().do_GET()


class RedirectingHandler(QuietHandler):
    """``/go*`` answers 302 to ``redirect_to`` (the path lands in ``hits``); other paths serve files."""

    redirect_to = ""

    def do_GET(self):
        if not self.path.startswith("/go"):
            return super().do_GET()
        type(self).hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", type(self).redirect_to)
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextmanager
def allow_private_host(entry: str):
    """Add ``entry`` (e.g. ``127.0.0.1:PORT``) to the link allow-list while the block runs (this process
    and the apps it starts); loopback is refused to links otherwise."""
    old = os.environ.get("VIGIL_ALLOW_PRIVATE_HOSTS")
    os.environ["VIGIL_ALLOW_PRIVATE_HOSTS"] = ",".join(p for p in (old, entry) if p)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("VIGIL_ALLOW_PRIVATE_HOSTS", None)
        else:
            os.environ["VIGIL_ALLOW_PRIVATE_HOSTS"] = old


@contextmanager
def http_server(root: Path, allow: bool = True, handler: type[SimpleHTTPRequestHandler] | None = None):
    """A static HTTP server for ``root`` on 127.0.0.1 (stand-in for the internet); yields its base URL.

    ``allow``: put exactly this server's address and port on the link allow-list while it runs.
    """
    handler = handler or QuietHandler
    handler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        if allow:
            with allow_private_host(f"127.0.0.1:{port}"):
                yield f"http://127.0.0.1:{port}"
        else:
            yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        import email

        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1: yields (inbox, port)."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    yield inbox, port
    ctl.stop()
