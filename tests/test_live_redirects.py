"""Live http(s) streams: redirects are followed by Vigil hop by hop (each host checked after DNS), never
by ffmpeg, so a public camera answering ``302 Location: http://169.254.169.254/`` reaches nothing."""

from __future__ import annotations

import os

import cv2
import pytest
from conftest import (
    SITE_FRAMES,
    QuietHandler,
    RedirectingHandler,
    allow_private_host,
    http_server,
)
from test_live import ScriptedScorer, wait_for

from core.errors import NetworkError
from core.live import (
    FFMPEG_OPTIONS_ENV,
    GUARDED_OPEN,
    LiveProcessor,
    LiveSourceError,
    ServerSource,
    ffmpeg_capture_options,
    stream_target,
)
from core.netguard import FETCH_FAILED, MAX_REDIRECTS, PROBE_HEADERS, FetchPolicy, follow_redirects

N_FRAMES = SITE_FRAMES


class Camera(RedirectingHandler):
    """The allowed "public" camera: ``/go*`` answers 302 to ``redirect_to``; other paths serve files. Records
    every request's User-Agent and Authorization."""

    hits: list[str] = []
    agents: list[str] = []
    auth: list[str | None] = []
    redirect_to = ""

    def do_GET(self):
        type(self).agents.append(self.headers.get("User-Agent", ""))
        type(self).auth.append(self.headers.get("Authorization"))
        super().do_GET()


@pytest.fixture(autouse=True)
def fresh_camera():
    Camera.agents, Camera.auth = [], []  # http_server resets only ``hits``


class Forbidden(QuietHandler):
    """Stands for the metadata service / an internal port: must see no request at all."""

    hits: list[str] = []


class Mirror(QuietHandler):
    """A second allowed server a redirect may lead to."""

    hits: list[str] = []


def play(url: str, frames: int = N_FRAMES, timeout: float = 20.0) -> tuple[ServerSource, LiveProcessor, bool]:
    """Start a ServerSource on ``url`` paced by a fake clock; wait until ``frames`` frames were processed."""
    now = [0.0]

    def pause(seconds: float) -> None:
        now[0] += seconds

    proc = LiveProcessor(ScriptedScorer(lambda t, f: 0.1), "m", source="cam")
    src = ServerSource(url, proc, clock=lambda: now[0], pause=pause).start()
    ok = wait_for(lambda: proc.snapshot().stats.frames_in >= frames, timeout)
    return src, proc, ok


def open_error(url: str, timeout: float = 15.0) -> tuple[str, int]:
    """Start a ServerSource on ``url``; once it gives up and waits to reconnect: (its error, frames processed)."""
    proc = LiveProcessor(ScriptedScorer(), "m")
    src = ServerSource(url, proc).start()
    try:
        assert wait_for(lambda: src.state == "reconnecting" and src.error is not None, timeout)
        return src.error, proc.snapshot().stats.frames_in
    finally:
        src.stop()


def test_an_allowed_http_stream_opens_and_yields_frames(clip_site):
    with http_server(clip_site, allow=True, handler=Mirror) as url:
        src, proc, ok = play(f"{url}/clip.avi")
        src.stop()
    assert ok, (src.state, src.error)
    assert proc.snapshot().stats.frames_in >= N_FRAMES and src.latest().shape == (240, 320, 3)
    assert Mirror.hits[:2] == ["/clip.avi", "/clip.avi"]  # the header-only check, then ffmpeg


@pytest.mark.parametrize(
    "target",
    [
        "{forbidden}/clip.avi",  # loopback, another port: not on the allow-list
        "http://2130706433:{port}/clip.avi",  # the same, decimal-encoded
        "http://[::ffff:127.0.0.1]:{port}/clip.avi",  # the same, IPv6-mapped
        "http://localhost:{port}/clip.avi",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.8/cam.avi",
        "file:///etc/passwd",  # ffmpeg would not follow it; we refuse any non-http(s) hop
    ],
)
def test_a_redirect_to_a_forbidden_address_is_refused_and_never_requested(clip_site, target):
    with (
        http_server(clip_site, allow=False, handler=Forbidden) as forbidden,
        http_server(clip_site, allow=False, handler=Camera) as camera,
        allow_private_host(camera.removeprefix("http://")),
    ):
        port = forbidden.rsplit(":", 1)[1]
        Camera.redirect_to = target.format(forbidden=forbidden, port=port)
        error, frames = open_error(camera.replace("http://", "http://viewer:s3cr3t-pw@") + "/go.avi")
    assert error == f"Could not open {camera}/go.avi (unreachable, wrong address or not a video)."
    assert "s3cr3t-pw" not in error
    assert Forbidden.hits == []  # the forbidden server saw ZERO requests
    assert Camera.hits == ["/go.avi"]  # only our header-only check: ffmpeg was never started on the hop
    assert Camera.auth == [None]  # credentials are not sent to the check
    assert frames == 0


def test_a_redirect_to_an_allowed_server_still_plays(clip_site):
    with (
        http_server(clip_site, allow=True, handler=Mirror) as mirror,
        http_server(clip_site, allow=True, handler=Camera) as camera,
    ):
        Camera.redirect_to = f"{mirror}/clip.avi"
        src, proc, ok = play(f"{camera}/go.avi")
        src.stop()
    assert ok, (src.state, src.error)
    assert proc.snapshot().stats.frames_in >= N_FRAMES
    assert Camera.hits[:1] == ["/go.avi"] and Mirror.hits[:2] == ["/clip.avi", "/clip.avi"]
    # ffmpeg opened the final URL itself: its only request to the camera was never made
    assert all(a == PROBE_HEADERS["User-Agent"] for a in Camera.agents)


def test_ffmpeg_itself_follows_no_redirect_inside_the_guarded_open(clip_site):
    """The second wall: even handed the redirecting URL, ffmpeg must not reach the forbidden server."""
    with (
        http_server(clip_site, allow=False, handler=Forbidden) as forbidden,
        http_server(clip_site, allow=False, handler=Camera) as camera,
    ):
        Camera.redirect_to = f"{forbidden}/clip.avi"
        with ffmpeg_capture_options(**GUARDED_OPEN):
            cap = cv2.VideoCapture(f"{camera}/go.avi", cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000])
        guarded = (cap.isOpened(), list(Forbidden.hits))
        cap.release()
        # control (the test can fail): without the option ffmpeg follows the 302 on its own
        cap = cv2.VideoCapture(f"{camera}/go.avi", cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000])
        unguarded = (cap.isOpened(), list(Forbidden.hits))
        cap.release()
    assert guarded == (False, [])
    assert unguarded == (True, ["/clip.avi"])


def test_a_playlist_cannot_make_ffmpeg_fetch_segments_from_a_forbidden_address(clip_site):
    """HLS lists segment URLs that ffmpeg would fetch itself, unchecked: playlist formats are refused."""
    with (
        http_server(clip_site, allow=False, handler=Forbidden) as forbidden,
        http_server(clip_site, allow=True, handler=Mirror) as camera,
    ):
        (clip_site / "cam.m3u8").write_text(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXTINF:2.0,\n{forbidden}/seg.ts\n#EXT-X-ENDLIST\n"
        )
        with pytest.raises(LiveSourceError):
            ServerSource(f"{camera}/cam.m3u8", LiveProcessor(ScriptedScorer(), "m"))._open()
        guarded = (list(Mirror.hits), list(Forbidden.hits))
        # control (the test can fail): with only redirects off, ffmpeg's HLS demuxer fetches the segment
        with ffmpeg_capture_options(max_redirects="0"):
            cap = cv2.VideoCapture(f"{camera}/cam.m3u8", cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000])
        cap.release()
        unguarded = list(Forbidden.hits)
    assert guarded == (["/cam.m3u8", "/cam.m3u8"], [])  # the check and ffmpeg read the playlist; no segment
    assert unguarded == ["/seg.ts"]


def test_ffmpeg_options_keep_the_users_own_and_are_restored(monkeypatch):
    monkeypatch.setenv(FFMPEG_OPTIONS_ENV, "rtsp_transport;tcp|max_redirects;8")
    with ffmpeg_capture_options(max_redirects="0"):
        inside = os.environ[FFMPEG_OPTIONS_ENV]
    assert inside == "rtsp_transport;tcp|max_redirects;0"
    assert os.environ[FFMPEG_OPTIONS_ENV] == "rtsp_transport;tcp|max_redirects;8"
    monkeypatch.delenv(FFMPEG_OPTIONS_ENV)
    with ffmpeg_capture_options(max_redirects="0"):
        assert os.environ[FFMPEG_OPTIONS_ENV] == "max_redirects;0"
    assert FFMPEG_OPTIONS_ENV not in os.environ


def test_redirect_chains_are_bounded_and_credentials_stay_on_their_server(clip_site):
    with (
        http_server(clip_site, allow=True, handler=Mirror) as mirror,
        http_server(clip_site, allow=True, handler=Camera) as camera,
    ):
        policy = FetchPolicy.from_settings()
        Camera.redirect_to = "/go-again"  # a loop: refused after MAX_REDIRECTS hops
        with pytest.raises(NetworkError) as err:
            follow_redirects(f"{camera}/go", policy, timeout=3)
        assert str(err.value) == FETCH_FAILED and len(Camera.hits) == MAX_REDIRECTS + 1
        Camera.redirect_to = "/clip.avi"  # same server: the typed credentials are kept for ffmpeg
        with_creds = camera.replace("http://", "http://u:pw@")
        assert follow_redirects(f"{with_creds}/go", policy, timeout=3)[0] == f"{with_creds}/clip.avi"
        Camera.redirect_to = f"{mirror}/clip.avi"  # another server: they are not passed on
        final, address = follow_redirects(f"{with_creds}/go", policy, timeout=3)
        assert final == f"{mirror}/clip.avi" and str(address) == "127.0.0.1"
        assert stream_target(f"{with_creds}/go", policy) == f"{mirror}/clip.avi"  # what ffmpeg is given
    assert not any(Camera.auth)


def test_a_closed_port_behind_a_redirect_reads_like_a_forbidden_one(clip_site):
    with http_server(clip_site, allow=True, handler=Camera) as camera:
        Camera.redirect_to = "http://127.0.0.1:9/x.avi"  # discard port, normally closed; allowed below
        with allow_private_host("127.0.0.1:9"):
            with pytest.raises(LiveSourceError) as closed:
                stream_target(f"{camera}/go.avi")
        Camera.redirect_to = "http://10.0.0.8/x.avi"
        with pytest.raises(LiveSourceError) as forbidden:
            stream_target(f"{camera}/go.avi")
    expected = f"Could not open {camera}/go.avi (unreachable, wrong address or not a video)."
    assert str(closed.value) == str(forbidden.value) == expected


def self_signed(tmp_path) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 (cert, key PEM paths); cryptography comes with Authlib."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "camera")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def test_an_https_camera_redirect_is_checked_and_its_target_plays(clip_site, tmp_path):
    import ssl
    import threading
    from functools import partial
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Camera, directory=str(clip_site)))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*self_signed(tmp_path))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    camera = f"https://127.0.0.1:{server.server_address[1]}"
    Camera.hits = []
    try:
        with allow_private_host(camera.removeprefix("https://")):
            Camera.redirect_to = "/clip.avi"
            target = stream_target(f"{camera}/go.avi")
            with ffmpeg_capture_options(**GUARDED_OPEN):
                cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000])
            frames = 0
            while cap.isOpened() and cap.read()[0]:
                frames += 1
            cap.release()
            Camera.redirect_to = "http://10.0.0.8/x.avi"  # over TLS too, a forbidden hop is refused
            with pytest.raises(LiveSourceError):
                stream_target(f"{camera}/go2.avi")
    finally:
        server.shutdown()
        server.server_close()
    assert target == f"{camera}/clip.avi"  # https keeps its name for TLS; open_stream pins it via ConnectProxy
    assert frames == N_FRAMES and Camera.hits == ["/go.avi", "/clip.avi", "/clip.avi", "/go2.avi"]
