"""Live rtsp streams go through the guarded relay (core/rtsp_relay.py): ffmpeg reaches only 127.0.0.1, the
relay only the checked camera address, and a camera answering ``302 Location: rtsp://<forbidden>/`` reaches
nothing. The cameras are fake RTSP servers on loopback (tests/rtsp_fake.py) streaming MJPEG over RTP."""

from __future__ import annotations

import base64
import random
import re
import socket
import ssl
import threading
from urllib.parse import urlsplit

import cv2
import pytest
from conftest import allow_private_host
from rtsp_fake import H, Script, W, rtsp_camera
from test_live import wait_for
from test_live_redirects import open_error, play, self_signed

import core.live
from core.live import RTSP_OPEN, ffmpeg_capture_options, open_stream
from core.rtsp_relay import RtspRefused, RtspRelay, RtspReplyFilter

N_FRAMES = 20
PARAMS = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]


@pytest.fixture
def relays(monkeypatch) -> list[RtspRelay]:
    """Every relay ServerSource starts, in order."""
    made: list[RtspRelay] = []

    class Recorded(RtspRelay):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(core.live, "RtspRelay", Recorded)
    return made


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def refused_connection(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def test_an_allowed_rtsp_camera_plays_through_the_relay_with_its_credentials_and_path(relays):
    with rtsp_camera(Script(basic_auth="viewer:s3cr3t-pw")) as (camera, script), allow_private_host(camera[7:]):
        url = camera.replace("rtsp://", "rtsp://viewer:s3cr3t-pw@") + "/cam/main?profile=1"
        src, proc, ok = play(url, N_FRAMES)
        label = src.label
        src.stop()
    assert ok, (src.state, src.error)
    assert proc.snapshot().stats.frames_in >= N_FRAMES and src.latest().shape == (H, W, 3)
    methods = [m for m, _, _ in script.requests]
    assert methods[:2] == ["OPTIONS", "DESCRIBE"] and "SETUP" in methods and "PLAY" in methods
    describe = [(urlsplit(u), h) for m, u, h in script.requests if m == "DESCRIBE"]
    assert {(d.path, d.query) for d, _ in describe} == {("/cam/main", "profile=1")}  # the path reached the camera
    relay = relays[0]
    assert {d.port for d, _ in describe} == {relay.local_port}  # ffmpeg named the relay (see core/rtsp_relay.py)
    basic = "Basic " + base64.b64encode(b"viewer:s3cr3t-pw").decode()
    assert describe[-1][1]["authorization"] == basic  # the 401 challenge was answered through the relay
    assert "s3cr3t-pw" not in label and label == f"{camera}/cam/main?profile=1"
    # the relay connected only to the checked address, ffmpeg only to the relay; it ended with its capture
    assert set(relay.connected) == {("127.0.0.1", port_of(camera))} and script.peers == ["127.0.0.1"]
    assert refused_connection(relay.local_port)


@pytest.mark.parametrize("method", ["OPTIONS", "DESCRIBE"])
def test_an_rtsp_redirect_to_a_forbidden_address_is_refused_and_never_connected(relays, method):
    with (
        rtsp_camera() as (forbidden, target),
        rtsp_camera(Script(redirect=f"{forbidden}/stolen", redirect_on=method)) as (camera, script),
        allow_private_host(camera[7:]),
    ):
        error, frames = open_error(camera.replace("rtsp://", "rtsp://viewer:s3cr3t-pw@") + "/go")
    assert error == f"Could not open {camera}/go (unreachable, wrong address or not a video)."
    assert target.connections == 0 and target.requests == []  # the forbidden server saw ZERO connections
    assert [m for m, _, _ in script.requests][-1] == method  # the camera's 302 was the last word
    assert relays[0].refused == ["redirect (302)"]
    assert frames == 0


@pytest.mark.parametrize("relayed", [True, False])
def test_the_relay_alone_keeps_ffmpeg_from_following_an_rtsp_redirect(relayed):
    """The relay on its own (ffmpeg given only rtsp_transport=tcp) refuses the 302; without it, the control,
    ffmpeg connects to where the 302 points: the redirect tests can fail."""
    with (
        rtsp_camera() as (forbidden, target),
        rtsp_camera(Script(redirect=f"{forbidden}/stolen", redirect_on="OPTIONS")) as (camera, _),
        RtspRelay("127.0.0.1", port_of(camera)) as relay,
    ):
        with ffmpeg_capture_options(rtsp_transport="tcp"):
            cap = cv2.VideoCapture(relay.url(f"{camera}/go") if relayed else f"{camera}/go", cv2.CAP_FFMPEG, PARAMS)
        opened = cap.isOpened()
        cap.release()
    if relayed:
        assert (opened, target.connections, relay.refused) == (False, 0, ["redirect (302)"])
    else:
        assert (opened, target.connections) == (True, 1)
        assert [m for m, _, _ in target.requests][:2] == ["OPTIONS", "DESCRIBE"]


def test_the_tcp_only_protocol_whitelist_is_a_second_wall_in_the_bundled_ffmpeg():
    """RTSP_OPEN's protocol_whitelist=tcp also makes this ffmpeg refuse an rtsp:// redirect (it checks the
    new URL's protocol). Version-dependent, hence the relay; this test says when a new ffmpeg changes it."""
    with (
        rtsp_camera() as (forbidden, target),
        rtsp_camera(Script(redirect=f"{forbidden}/stolen", redirect_on="OPTIONS")) as (camera, _),
    ):
        with ffmpeg_capture_options(**RTSP_OPEN):
            cap = cv2.VideoCapture(f"{camera}/go", cv2.CAP_FFMPEG, PARAMS)
        opened = cap.isOpened()
        cap.release()
    assert (opened, target.connections) == (False, 0)


def relay_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("vigil-rtsp-relay")]


def test_releasing_the_capture_closes_its_relay_and_ends_its_threads(relays):
    with rtsp_camera() as (camera, script), allow_private_host(camera[7:]):
        cap = open_stream(f"{camera}/cam", PARAMS)
        try:
            assert cap.read()[0]
            relay, running = relays[0], {(t.name, t.daemon) for t in relay_threads()}
        finally:
            cap.release()
        assert running == {("vigil-rtsp-relay", True), ("vigil-rtsp-relay-conn", True)}
        assert wait_for(lambda: not relay_threads(), 5), relay_threads()  # daemons, but not left running
    assert relay.refused == [] and refused_connection(relay.local_port)


def test_content_base_naming_another_server_stays_on_the_relayed_connection(relays):
    """ffmpeg sends SETUP for an absolute Content-Base or a=control on the open connection (checked, not
    assumed): the camera's own absolute URLs pass unchanged and name no new destination."""
    with (
        rtsp_camera() as (forbidden, target),
        rtsp_camera(Script(content_base=f"{forbidden}/base/", control=f"{forbidden}/abs/track")) as (camera, script),
        allow_private_host(camera[7:]),
    ):
        cap = open_stream(f"{camera}/cam", PARAMS)
        frames = sum(cap.read()[0] for _ in range(5))
        cap.release()
    assert frames == 5
    assert target.connections == 0 and script.connections == 1
    assert [u for m, u, _ in script.requests if m == "SETUP"] == [f"{forbidden}/abs/track"]


def test_the_relay_connects_only_to_the_address_that_was_checked(monkeypatch, relays):
    """A rebinding name: the check sees 127.0.0.1 (allowed), any later lookup would get 127.0.0.2, where a
    forbidden server listens on the same port. Nothing may resolve the name again or follow the URI."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host == "camera.test":
            lookups.append(host)
            host = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"
        return real(host, port, *args, **kwargs)

    with rtsp_camera() as (camera, script):
        port = port_of(camera)
        with rtsp_camera(host="127.0.0.2", port=port) as (_, target), allow_private_host(f"127.0.0.1:{port}"):
            monkeypatch.setattr(socket, "getaddrinfo", rebinding)
            cap = open_stream(f"rtsp://camera.test:{port}/cam", PARAMS)
            frames = sum(cap.read()[0] for _ in range(3))
            relay = relays[0]
            # a client of the relay naming the forbidden server in its request still reaches only the camera
            with socket.create_connection(("127.0.0.1", relay.local_port), timeout=5) as raw:
                raw.sendall(f"OPTIONS rtsp://127.0.0.2:{port}/x RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode())
                reply = raw.recv(4096)
            listening = relay._listener.getsockname()[0]
            cap.release()
            monkeypatch.setattr(socket, "getaddrinfo", real)
    assert frames == 3 and reply.startswith(b"RTSP/1.0 200 ")
    assert lookups == ["camera.test"]  # checked once; the relay was handed the address, never the name
    assert relay.connected == [("127.0.0.1", port)] * 2 and script.connections == 2
    assert target.connections == 0
    assert listening == "127.0.0.1"  # ffmpeg's side is loopback only


def test_an_rtsps_camera_is_relayed_over_tls_and_its_redirect_refused(tmp_path, relays):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*self_signed(tmp_path))
    with (
        rtsp_camera() as (forbidden, target),
        rtsp_camera(Script(redirect=f"{forbidden}/x", redirect_on="DESCRIBE"), tls=ctx) as (bad, _),
        rtsp_camera(tls=ctx) as (camera, script),
        allow_private_host(camera[8:]),
        allow_private_host(bad[8:]),
    ):
        cap = open_stream(f"{camera}/cam", PARAMS)
        frames = sum(cap.read()[0] for _ in range(5))
        cap.release()
        with pytest.raises(core.live.LiveSourceError):
            open_stream(f"{bad}/cam", PARAMS)
    assert frames == 5 and [m for m, _, _ in script.requests][:2] == ["OPTIONS", "DESCRIBE"]
    assert relays[0].tls_name == "127.0.0.1" and relays[1].refused == ["redirect (302)"]
    assert target.connections == 0


# --- the reply filter, byte by byte -------------------------------------------------------------------------
SDP = b"v=0\r\nm=video 0 RTP/AVP 26\r\n"
OK_DESCRIBE = b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Base: rtsp://cam/x/\r\nContent-Length: 27\r\n\r\n" + SDP
FRAME = b"$\x00\x00\x05hello"


def feed_bytewise(data: bytes) -> bytes:
    f = RtspReplyFilter()
    return b"".join(f.feed(data[i : i + 1]) for i in range(len(data)))


def test_the_filter_passes_frames_and_responses_whole_however_they_are_split():
    stream = FRAME + OK_DESCRIBE + FRAME + b"RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\n\r\n"
    expected = (
        FRAME
        + b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Base: rtsp://cam/x/\r\nContent-Length: 27\r\n\r\n"
        + SDP
        + FRAME
        + b"RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\n\r\n"
    )
    assert RtspReplyFilter().feed(stream) == expected
    assert feed_bytewise(stream) == expected
    partial = RtspReplyFilter()
    assert partial.feed(OK_DESCRIBE[:-1]) == b"" and partial.feed(OK_DESCRIBE[-1:]).endswith(SDP)


@pytest.mark.parametrize(
    "reply, expected",
    [
        # bare LF, blank lines before, lower-case names, two lengths (ffmpeg keeps the last): canonical out
        (
            b"\n\r\nRTSP/1.0 200 OK\ncseq: 1\ncontent-length: 9\nContent-Length: 2\n\nhi",
            b"RTSP/1.0 200 OK\r\ncseq: 1\r\nContent-Length: 2\r\n\r\nhi",
        ),
        (b"RTSP/1.0 200 OK\r\nLocation: rtsp://10.0.0.8/\r\n\r\n", b"RTSP/1.0 200 OK\r\n\r\n"),  # Location dropped
        # a body is data, even when it looks like a redirect
        (
            b"RTSP/1.0 200 OK\r\nContent-Length: 20\r\n\r\nRTSP/1.0 302 Moved\r\n",
            b"RTSP/1.0 200 OK\r\nContent-Length: 20\r\n\r\nRTSP/1.0 302 Moved\r\n",
        ),
        # a request from the server (ffmpeg answers it itself)
        (
            b"GET_PARAMETER rtsp://cam/ RTSP/1.0\r\nCSeq: 9\r\n\r\n",
            b"GET_PARAMETER rtsp://cam/ RTSP/1.0\r\nCSeq: 9\r\n\r\n",
        ),
        (b"RTSP/1.0 404\r\n\r\n", b"RTSP/1.0 404 \r\n\r\n"),
    ],
)
def test_the_filter_rewrites_messages_into_the_form_ffmpeg_reads_the_same_way(reply, expected):
    assert RtspReplyFilter().feed(reply) == expected
    assert feed_bytewise(reply) == expected


@pytest.mark.parametrize(
    "reply",
    [
        b"RTSP/1.0 302 Moved\r\nLocation: rtsp://10.0.0.8/\r\n\r\n",
        b"RTSP/1.0 301 Moved\r\n\r\n",
        b"RTSP/1.0 300 Multiple Choices\r\n\r\n",
        b"RTSP/1.0 399 x\r\n\r\n",
        b"RTSP/1.0 305 Use Proxy\nLocation: rtsp://10.0.0.8/\n\n",  # bare LF
        b"  RTSP/1.0\t302 Moved\r\n\r\n",  # ffmpeg skips blanks and tabs before words
        b"RTSP/1.0 3\r02 Moved\r\n\r\n",  # ffmpeg drops every \r
        b"RTSP/1.0 +302 Moved\r\n\r\n",  # atoi reads the sign
        b"RTSP/2.0 302 Moved\r\n\r\n",
        b"RTSP/1.0 4294967598 Moved\r\n\r\n",  # (int)4294967598 == 302 in C: codes outside 100..599 refused
        b"RTSP/1.0 Moved\r\n\r\n",  # no code
        FRAME + b"RTSP/1.0 302 Moved\r\n\r\n",
        b"RTSP/1.0 200 OK\r\n$\x00\x00\x01xRTSP/1.0 302 Moved\r\n\r\n",  # ffmpeg would read a frame mid-header
        b"RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n",
        b"RTSP/1.0 200 OK\r\nX: " + b"a" * 70000,  # no end of header in sight
    ],
)
def test_the_filter_refuses_redirects_and_what_it_cannot_read(reply):
    with pytest.raises(RtspRefused):
        RtspReplyFilter().feed(reply)
    with pytest.raises(RtspRefused):
        feed_bytewise(reply)


def ffmpeg_reads(stream: bytes) -> list[tuple[int, list[bytes]]]:
    """(status, header lines) of each response in ``stream`` as ffmpeg's ff_rtsp_read_reply reads it: ``$`` at
    a line start is a frame, ``\\r`` is dropped, a NUL ends the line, the code is a C int from atoi, the
    last ``Content-Length:`` (case-insensitive prefix) sizes the body. Requests give status None."""
    replies, i = [], 0
    while i < len(stream):
        lines: list[bytes] = []
        while i < len(stream):
            line = bytearray()
            while i < len(stream) and stream[i] != 0x0A:
                if stream[i] == 0x24 and not line:  # an interleaved frame
                    i += 4 + int.from_bytes(stream[i + 2 : i + 4], "big")
                    continue
                if stream[i] != 0x0D:
                    line.append(stream[i])
                i += 1
            i += 1
            text = bytes(line).split(b"\0", 1)[0]
            if not text:
                break
            lines.append(text)
        if not lines:
            continue
        words = lines[0].lstrip(b" \t").replace(b"\t", b" ").split(b" ")
        words = [w for w in words if w]
        status = None
        if words and words[0].startswith(b"RTSP/"):
            raw = int(m.group(1)) if len(words) > 1 and (m := re.match(rb"\s*([+-]?\d+)", words[1])) else 0
            status = (raw + 2**31) % 2**32 - 2**31  # (int) of the long strtol returned
        length = 0
        for h in lines[1:]:
            if h.lower().startswith(b"content-length:"):
                length = int(m.group(1)) if (m := re.match(rb"\s*([+-]?\d+)", h[15:])) else 0
        i += max(length, 0)
        replies.append((status, lines[1:]))
    return replies


PIECES = [FRAME, OK_DESCRIBE, b"RTSP/1.0 302 Moved\r\n", b"Location: rtsp://10.0.0.8/\r\n", b"RTSP/1.0 ", b"302",
          b"200 OK", b"4294967598", b"\r\n", b"\r", b"\n", b"\0", b"$", b" ", b"\t", b"Content-Length: 4\r\n",
          b"content-length:+3\n", b"CSeq: 1\r\n", b"OPTIONS * RTSP/1.0\r\n", b"$\x00\x00\x02ab"]  # fmt: skip


def test_whatever_a_camera_sends_ffmpeg_reads_no_redirect_from_the_relay():
    """Fuzz: random streams of RTSP-ish pieces, split at random. The filter either refuses or passes bytes in
    which an ffmpeg-style reader finds no 3xx status and no Location header."""
    rng = random.Random(12)
    refused = passed = 0
    for _ in range(3000):
        stream = b"".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
        f, out = RtspReplyFilter(), bytearray()
        try:
            cuts = sorted(rng.sample(range(len(stream) + 1), min(3, len(stream) + 1)))
            for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
                out += f.feed(stream[a:b])
        except RtspRefused:
            refused += 1
            continue
        passed += 1
        for status, headers in ffmpeg_reads(bytes(out)):
            assert status is None or not 300 <= status <= 399, (stream, bytes(out))
            assert not any(h.lower().startswith(b"location:") for h in headers), (stream, bytes(out))
    assert refused > 100 and passed > 100  # both branches were exercised
    # the reader itself sees the redirect the raw stream carries (the check can fail)
    assert ffmpeg_reads(b"RTSP/1.0 4294967598 Moved\r\nLocation: rtsp://x/\r\n\r\n")[0][0] == 302
