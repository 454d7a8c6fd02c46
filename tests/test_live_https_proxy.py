"""Live https streams are pinned too: ffmpeg keeps the host name for TLS (SNI) but tunnels through a guarded
CONNECT proxy on 127.0.0.1 (core/netguard.py ``ConnectProxy``) that connects only to the address Vigil
checked, so a name that answers a public address to the check and 127.0.0.1 to ffmpeg reaches nothing."""

from __future__ import annotations

import base64
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import ThreadingHTTPServer

import cv2
import pytest
from conftest import SITE_FRAMES, QuietHandler, allow_private_host
from test_live_redirects import play, self_signed

import core.live
from core.live import GUARDED_OPEN, LiveSourceError, ffmpeg_capture_options, open_stream, stream_target
from core.netguard import FETCH_FAILED, ConnectProxy, FetchPolicy

N_FRAMES = SITE_FRAMES
PARAMS = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]
CREDS = ("viewer", "s3cr3t-pw")


@pytest.fixture
def proxies(monkeypatch) -> list[ConnectProxy]:
    """Every ConnectProxy open_stream starts, in order."""
    made: list[ConnectProxy] = []

    class Recorded(ConnectProxy):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(core.live, "ConnectProxy", Recorded)
    return made


class Camera(QuietHandler):
    """An https camera asking for Basic credentials; counts the TCP connections it accepted."""

    hits: list[str] = []
    auth: list[str | None] = []
    connections = 0
    require = "Basic " + base64.b64encode(":".join(CREDS).encode()).decode()

    def setup(self):
        type(self).connections += 1
        super().setup()

    def do_GET(self):
        type(self).auth.append(self.headers.get("Authorization"))
        if self.headers.get("Authorization") != type(self).require:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="cam"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()


class Forbidden(Camera):
    """Stands for 127.0.0.1 / the metadata service behind a rebinding name: must see no connection."""

    hits: list[str] = []
    auth: list[str | None] = []
    connections = 0


@contextmanager
def https_camera(clip_site, tmp_path, handler: type[Camera], host: str = "127.0.0.1", port: int = 0) -> Iterator[int]:
    """A TLS (self-signed) file server on ``host:port`` for ``clip_site``; yields its port."""
    handler.hits, handler.auth, handler.connections = [], [], 0
    server = ThreadingHTTPServer((host, port), partial(handler, directory=str(clip_site)))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*self_signed(tmp_path))
    # handshake in the handler thread, so ``connections`` counts every TCP connection, even one sending nothing
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def read_all(cap) -> int:
    frames = 0
    while cap.isOpened() and cap.read()[0]:
        frames += 1
    cap.release()
    return frames


def test_an_https_camera_plays_through_the_proxy_with_its_credentials(clip_site, tmp_path, proxies):
    with https_camera(clip_site, tmp_path, Camera) as port, allow_private_host(f"127.0.0.1:{port}"):
        frames = read_all(open_stream(f"https://{':'.join(CREDS)}@127.0.0.1:{port}/clip.avi", PARAMS))
        src, proc, ok = play(f"https://{':'.join(CREDS)}@127.0.0.1:{port}/clip.avi")  # the page's path
        src.stop()
    assert frames == N_FRAMES and ok, (src.state, src.error)
    assert len(proxies) >= 2
    assert proxies[0].connected and set(proxies[0].connected) == {("127.0.0.1", port)}
    assert proxies[0].refused == []
    # the check sent no credentials and got 401; ffmpeg sent them inside TLS once asked
    assert Camera.auth[:3] == [None, None, Camera.require]
    with pytest.raises(OSError):  # released with its capture: nothing listens on the proxy port anymore
        socket.create_connection(("127.0.0.1", int(proxies[0].url.rsplit(":", 1)[1])), timeout=2).close()


@pytest.fixture
def rebinding(monkeypatch):
    """``localhost`` answers 127.0.0.2 (allowed below) to Vigil's first lookup, the real 127.0.0.1 after:
    what a DNS-rebinding name does. ffmpeg's own lookup (libc, unpatched) also gets 127.0.0.1."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolve(host, port, *args, **kwargs):
        if host == "localhost":
            lookups.append(host)
            if len(lookups) == 1:
                host = "127.0.0.2"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return lookups


def test_a_rebinding_name_plays_from_the_checked_address_and_never_reaches_the_other(
    clip_site, tmp_path, proxies, rebinding
):
    with (
        https_camera(clip_site, tmp_path, Camera, host="127.0.0.2") as port,
        https_camera(clip_site, tmp_path, Forbidden, host="127.0.0.1", port=port),
        allow_private_host(f"127.0.0.2:{port}"),
    ):
        url = f"https://{':'.join(CREDS)}@localhost:{port}/clip.avi"
        frames = read_all(open_stream(url, PARAMS))
        guarded = (Camera.connections > 0, Forbidden.connections, list(rebinding), list(proxies[0].connected))
        # control (the test can fail): the old way, ffmpeg given the name inside GUARDED_OPEN alone
        rebinding.clear()
        target = stream_target(url)
        with ffmpeg_capture_options(**GUARDED_OPEN):
            unguarded_frames = read_all(cv2.VideoCapture(target, cv2.CAP_FFMPEG, PARAMS))
    assert frames == N_FRAMES
    assert guarded == (True, 0, ["localhost"], [("localhost", port)] * len(guarded[3]))  # looked up once
    assert target == url  # not pinned: TLS keeps the name, and ffmpeg resolves it itself
    assert Forbidden.connections > 0 and unguarded_frames == N_FRAMES  # ...and lands on the other server


def test_an_unpinned_connect_to_a_forbidden_or_closed_address_gets_one_answer(clip_site, tmp_path):
    def connect(proxy: ConnectProxy, target: str, auth: bool = True) -> bytes:
        userinfo = proxy.url.removeprefix("http://").rsplit("@", 1)[0]
        port = int(proxy.url.rsplit(":", 1)[1])
        head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        if auth:
            head += f"Proxy-Authorization: Basic {base64.b64encode(userinfo.encode()).decode()}\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall((head + "\r\n").encode())
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
                if reply.startswith(b"HTTP/1.1 200"):
                    return reply
        return reply

    with https_camera(clip_site, tmp_path, Forbidden) as port, ConnectProxy(FetchPolicy(), timeout=5) as proxy:
        forbidden = [connect(proxy, t) for t in (f"127.0.0.1:{port}", f"localhost:{port}", "169.254.169.254:80")]
        no_auth = connect(proxy, f"127.0.0.1:{port}", auth=False)
        with allow_private_host("127.0.0.1:9"), ConnectProxy(FetchPolicy.from_settings(), timeout=5) as other:
            closed = connect(other, "127.0.0.1:9")  # discard port, normally closed
        with allow_private_host(f"127.0.0.1:{port}"):
            allowed = ConnectProxy(FetchPolicy.from_settings(), timeout=5)
            opened = connect(allowed, f"127.0.0.1:{port}")
            allowed.close()
    assert forbidden[0].endswith(b"\r\n\r\n" + FETCH_FAILED.encode()) and forbidden[0].startswith(b"HTTP/1.1 502 ")
    assert forbidden == [forbidden[0]] * 3 and closed == forbidden[0]  # forbidden reads like closed
    assert proxy.refused == [("127.0.0.1", port), ("localhost", port), ("169.254.169.254", 80)]
    assert no_auth.startswith(b"HTTP/1.1 407 ") and proxy.connected == []
    assert opened.startswith(b"HTTP/1.1 200 ") and allowed.connected == [("127.0.0.1", port)]
    assert Forbidden.connections == 1  # only the allowed CONNECT reached it


def test_no_proxy_naming_the_host_refuses_the_https_stream(clip_site, tmp_path, proxies, monkeypatch):
    """ffmpeg skips its proxy for hosts in ``$no_proxy`` and would resolve the name itself: refused."""
    with https_camera(clip_site, tmp_path, Camera) as port, allow_private_host(f"127.0.0.1:{port}"):
        monkeypatch.setenv("no_proxy", "example.org, .0.0.1")
        url = f"https://{':'.join(CREDS)}@127.0.0.1:{port}/clip.avi"
        with pytest.raises(LiveSourceError) as err:
            open_stream(url, PARAMS)
        monkeypatch.setenv("no_proxy", "example.org,27.0.0.1")  # a suffix, not a domain: ffmpeg keeps the proxy
        frames = read_all(open_stream(url, PARAMS))
    shown = f"https://127.0.0.1:{port}/clip.avi"  # without the credentials
    assert str(err.value) == f"Could not open {shown} (unreachable, wrong address or not a video)."
    assert frames == N_FRAMES and proxies[-1].connected
