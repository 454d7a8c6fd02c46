"""A minimal RTSP camera on 127.0.0.1 for tests: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN over one TCP
connection, and MJPEG over RTP (RFC 2435, payload type 26) interleaved on it (``$``, channel, length)."""

from __future__ import annotations

import base64
import socketserver
import ssl
import struct
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import cv2
import numpy as np

W, H = 320, 240  # multiples of 8 and 16: RFC 2435 sends width/8 and height/8


def jpeg_parts(frame: np.ndarray) -> tuple[bytes, bytes]:
    """(luma + chroma quantisation tables as RFC 2435 sends them, 128 bytes; entropy-coded scan data)
    of a baseline 4:2:0 JPEG with the standard Huffman tables (what cv2.imencode writes)."""
    data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
    tables: list[bytes] = []
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack("!H", data[i + 2 : i + 4])[0]
        body = data[i + 4 : i + 2 + length]
        if marker == 0xDB:  # DQT: one or more (Pq/Tq, 64 bytes) tables
            for j in range(0, len(body), 65):
                tables.append(body[j + 1 : j + 65])
        if marker == 0xDA:  # SOS: the scan runs to the EOI marker
            return b"".join(tables[:2]), data[i + 2 + length : data.rindex(b"\xff\xd9")]
        i += 2 + length
    raise ValueError("no scan in the JPEG")


def rtp_jpeg_packets(frame: np.ndarray, seq: int, ts: int, mtu: int = 1400) -> list[bytes]:
    """RTP packets (12-byte header + RFC 2435 payload) of one frame; the last has the marker bit."""
    qtables, scan = jpeg_parts(frame)
    packets, offset = [], 0
    while offset < len(scan):
        chunk = scan[offset : offset + mtu]
        # type-specific 0, 24-bit fragment offset, type 1 (4:2:0), Q 255 (tables in band), width/8, height/8
        header = struct.pack("!B3sBBBB", 0, offset.to_bytes(3, "big"), 1, 255, W // 8, H // 8)
        if offset == 0:
            header += struct.pack("!BBH", 0, 0, len(qtables)) + qtables
        last = offset + len(chunk) >= len(scan)
        rtp = struct.pack("!BBHII", 0x80, (0x80 if last else 0) | 26, seq & 0xFFFF, ts & 0xFFFFFFFF, 0x5EED)
        packets.append(rtp + header + chunk)
        offset += len(chunk)
        seq += 1
    return packets


SDP = (
    "v=0\r\no=- 0 0 IN IP4 {host}\r\ns=fake\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
    "m=video 0 RTP/AVP 26\r\na=control:{control}\r\n"
)


@dataclass
class Script:
    """What the camera answers. ``redirect``: a Location for requests (status 302);
    ``content_base``: sent with DESCRIBE; ``control``: the SDP's a=control of the track."""

    redirect: str = ""
    redirect_on: str = ""  # only this method is redirected ("" = every one)
    basic_auth: str = ""  # "user:password" the camera demands (401 + Basic challenge without it)
    content_base: str = ""
    control: str = "track1"
    frames: int = 200
    fps: float = 25.0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # (method, uri, headers)
    connections: int = 0
    peers: list[str] = field(default_factory=list)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def _read_request(self) -> tuple[str, str, dict[str, str]] | None:
        line = self.rfile.readline()
        if not line:
            return None
        method, uri, *_ = line.decode("latin-1").split() + ["", ""]
        headers: dict[str, str] = {}
        while (h := self.rfile.readline().decode("latin-1").strip()) != "":
            name, _, value = h.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.rfile.read(int(headers.get("content-length", "0")))
        return method, uri, headers

    def _reply(self, cseq: str, status: str = "200 OK", extra: str = "", body: bytes = b"") -> None:
        head = f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n{extra}"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        self.wfile.write(head.encode() + b"\r\n" + body)

    def handle(self) -> None:
        script = self.server.script
        script.connections += 1
        script.peers.append(self.client_address[0])
        try:
            while (req := self._read_request()) is not None:
                method, uri, headers = req
                script.requests.append(req)
                cseq = headers.get("cseq", "0")
                expected = "Basic " + base64.b64encode(script.basic_auth.encode()).decode()
                if script.basic_auth and method != "OPTIONS" and headers.get("authorization") != expected:
                    self._reply(cseq, "401 Unauthorized", 'WWW-Authenticate: Basic realm="cam"\r\n')
                elif script.redirect and script.redirect_on in ("", method):
                    self._reply(cseq, "302 Moved Temporarily", f"Location: {script.redirect}\r\n")
                elif method == "OPTIONS":
                    self._reply(cseq, extra="Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n")
                elif method == "DESCRIBE":
                    host = self.server.server_address[0]
                    sdp = SDP.format(host=host, control=script.control).encode()
                    base = f"Content-Base: {script.content_base}\r\n" if script.content_base else ""
                    self._reply(cseq, extra=f"Content-Type: application/sdp\r\n{base}", body=sdp)
                elif method == "SETUP":
                    if "RTP/AVP/TCP" not in headers.get("transport", ""):
                        self._reply(cseq, "461 Unsupported Transport")
                        continue
                    self._reply(cseq, extra="Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 12345678\r\n")
                elif method == "PLAY":
                    self._reply(cseq, extra="Session: 12345678\r\n")
                    self._stream(script)
                else:
                    self._reply(cseq)
        except OSError:
            return

    def _stream(self, script: Script) -> None:
        seq, x = 0, 0
        for n in range(script.frames):
            frame = np.zeros((H, W, 3), np.uint8)
            x = (x + 8) % (W - 40)
            frame[100:140, x : x + 40] = 255
            for pkt in rtp_jpeg_packets(frame, seq, int(n * 90000 / script.fps)):
                self.wfile.write(b"$\x00" + struct.pack("!H", len(pkt)) + pkt)
                seq += 1
            self.wfile.flush()
            time.sleep(1.0 / script.fps)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    script: Script


@contextmanager
def rtsp_camera(
    script: Script | None = None, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
):
    """Serve ``script`` on ``host:port`` (0: a free port), over TLS with ``tls``; yields
    (``rtsp://HOST:PORT`` or ``rtsps://...``, script)."""
    server = _Server((host, port), _Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.script = script or Script()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"rtsp{'s' if tls else ''}://{host}:{server.server_address[1]}", server.script
    finally:
        server.shutdown()
        server.server_close()
