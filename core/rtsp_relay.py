"""A guarded RTSP relay: ffmpeg talks to 127.0.0.1, the relay to one checked camera address, and no
redirect the camera answers ever reaches ffmpeg.

ffmpeg follows an RTSP ``3xx`` + ``Location`` on its own (a new TCP connection to any host) and has no
option to stop it. So an rtsp:// source is opened as ``rtsp://[user:pass@]127.0.0.1:<relay port>/path``
with ``rtsp_transport=tcp``: every RTSP message and, interleaved, every RTP/RTCP packet travel over the
one connection through the relay. The relay connects only to the (address, port) it was given (already
resolved and checked by ``FetchPolicy``; never resolved again) and reads the camera -> ffmpeg bytes:

* interleaved frames (``$``, channel, 16-bit big-endian length, payload) pass unchanged;
* an RTSP message (start line, header lines, blank line, ``Content-Length`` body) is parsed the way
  ffmpeg's ``ff_rtsp_read_reply`` reads it (``\\r`` dropped, a NUL ends a line) and passed on re-written
  in a canonical form: a response's status line rebuilt from the parsed code, ``Location`` and every
  ``Content-Length`` dropped and one ``Content-Length`` of the body actually passed added. What ffmpeg
  parses is therefore exactly what the relay decided on;
* a response with a status from 300 to 399 (a redirect), a code outside 100..599, a header line that
  starts with ``$``, or an oversized message closes both sides: the open (or the stream) fails.

A second wall, not relied on alone: ffmpeg is also given ``protocol_whitelist=tcp`` (core/live.py
``RTSP_OPEN``), which keeps it off UDP/RTP sockets and, in the ffmpeg bundled with OpenCV 5.0, makes it
refuse an ``rtsp://`` redirect itself (tests/test_live_rtsp.py says when a new ffmpeg changes that).

ffmpeg -> camera bytes pass unchanged: request URIs name the relay, not the camera (cameras ignore the
host part; rewriting it would break Digest authentication, whose hash covers the URI). ffmpeg keeps
using the one connection when the SDP or ``Content-Base`` name the camera's own absolute URL (SETUP
then names it in the request line only), so those are passed unchanged too. Credentials travel inside
ffmpeg's Authorization header; the relay never reads or logs them.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import ssl
import struct
import threading
from urllib.parse import urlsplit, urlunsplit

from core.netguard import relay

log = logging.getLogger("vigil.rtsp_relay")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_HEAD = 64 * 1024  # bytes of start line + headers: an SDP travels in the body
MAX_BODY = 1024 * 1024
IDLE_S = 120.0  # a connection on which nothing moves this long is closed (ffmpeg's own read timeout is 10 s)
MAX_CONNECTIONS = 4  # ffmpeg uses one per open; a few more for its TCP retry
_LEADING_INT = re.compile(rb"[ \t\n\v\f\r]*([+-]?\d+)")  # C isspace, then strtol


class RtspRefused(Exception):
    """The camera's byte stream must not reach ffmpeg (a redirect, or something the relay cannot parse)."""


def _atoi(text: bytes) -> int:
    """C ``atoi``/``strtol``: the leading integer of ``text``, 0 when there is none."""
    m = _LEADING_INT.match(text)
    return int(m.group(1)) if m else 0


class RtspReplyFilter:
    """Incremental reader of the camera -> client stream: ``feed(bytes)`` returns the bytes to pass on
    (whole interleaved frames and canonical RTSP messages; a partial one waits for more) or raises
    RtspRefused. Each byte is scanned once, however the stream is split. ``statuses``: the response codes
    passed, in order."""

    def __init__(self):
        self._buf = bytearray()
        self._lines: list[bytes] = []  # complete start/header lines of the message being read
        self._pos = 0  # where its next line starts in _buf
        self._scan = 0  # _buf before this holds no newline after _pos
        self._head: tuple[bytes, int] | None = None  # (canonical head, body length) once its blank line came
        self.statuses: list[int] = []

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        out = bytearray()
        while (chunk := self._next()) is not None:
            out += chunk
        return bytes(out)

    def _next(self) -> bytes | None:
        buf = self._buf
        if self._head is None and not self._lines:
            while buf[:1] in (b"\r", b"\n"):  # blank lines between messages: ffmpeg would read an empty reply
                del buf[:1]
                self._pos = self._scan = 0
            if not buf:
                return None
            if buf[0] == 0x24:  # "$": an interleaved RTP/RTCP frame
                if len(buf) < 4:
                    return None
                end = 4 + struct.unpack("!H", buf[2:4])[0]
                if len(buf) < end:
                    return None
                frame = bytes(buf[:end])
                del buf[:end]
                self._pos = self._scan = 0
                return frame
        while self._head is None:
            nl = buf.find(b"\n", max(self._pos, self._scan))
            if nl < 0:
                self._scan = len(buf)
                if len(buf) > MAX_HEAD:
                    raise RtspRefused("header too long")
                return None
            line = bytes(buf[self._pos : nl]).replace(b"\r", b"").split(b"\0", 1)[0]
            self._pos = nl + 1
            if self._pos > MAX_HEAD:
                raise RtspRefused("header too long")
            if not line and not self._lines:  # empty once NUL-cut: dropped like the blank lines above
                del buf[: self._pos]
                self._pos = self._scan = 0
                return b""
            if not line:
                self._head = self._canonical_head(self._lines)
            elif self._lines and line.startswith(b"$"):  # ffmpeg would read an interleaved frame in mid-header
                raise RtspRefused("interleaved data inside a message")
            else:
                self._lines.append(line)
        head, length = self._head
        end = self._pos + length
        if len(buf) < end:
            return None
        message = head + bytes(buf[self._pos : end])
        del buf[:end]
        self._lines, self._pos, self._scan, self._head = [], 0, 0, None
        return message

    def _canonical_head(self, lines: list[bytes]) -> tuple[bytes, int]:
        """(start line and headers as ffmpeg will read them, body length); RtspRefused for a redirect."""
        start, headers = lines[0], lines[1:]
        length = 0
        kept = []
        for h in headers:
            name, colon, value = h.partition(b":")
            key = name.strip().lower() if colon else b""
            if key == b"content-length":
                length = _atoi(value)  # ffmpeg keeps the last one
            elif key != b"location":
                kept.append(h)
        if length < 0 or length > MAX_BODY:
            raise RtspRefused("bad body length")
        words = start.lstrip(b" \t").split(None, 2)
        if words and words[0].startswith(b"RTSP/"):  # a response (ffmpeg: anything else is a request from the server)
            code = _atoi(words[1]) if len(words) > 1 else 0
            if not 100 <= code <= 599:
                raise RtspRefused("bad status code")
            if 300 <= code <= 399:
                raise RtspRefused(f"redirect ({code})")
            self.statuses.append(code)
            start = b"RTSP/1.0 %03d %s" % (code, words[2] if len(words) > 2 else b"")
        if length:
            kept.append(b"Content-Length: %d" % length)
        return b"\r\n".join([start, *kept]) + b"\r\n\r\n", length


class RtspRelay:
    """A relay on 127.0.0.1 (ephemeral port) to one checked camera endpoint; see the module docstring.

    ``address``, ``port``: where every accepted connection goes (no name is resolved here).
    ``tls_name``: for rtsps, the camera's host name (SNI); the relay speaks TLS to the camera and plain
    RTSP to ffmpeg on loopback. ``connected``: (address, port) of each upstream connection made;
    ``refused``: why connections were closed by the filter. Threads are daemons; ``close()`` ends all.
    """

    def __init__(self, address: IPAddress | str, port: int, timeout: float = 10.0, tls_name: str | None = None):
        self.address, self.port = ipaddress.ip_address(str(address)), port
        self.timeout, self.tls_name = timeout, tls_name
        self.connected: list[tuple[str, int]] = []
        self.refused: list[str] = []
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._closed = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.local_port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, name="vigil-rtsp-relay", daemon=True).start()

    def url(self, uri: str) -> str:
        """``uri`` (rtsp or rtsps) pointed at the relay: rtsp, same credentials, path and query."""
        parts = urlsplit(uri)
        userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(scheme="rtsp", netloc=f"{userinfo}127.0.0.1:{self.local_port}"))

    def close(self) -> None:
        """Stop listening and end every relayed connection (their threads close the sockets)."""
        with self._lock:
            self._closed = True
            socks = list(self._socks)
        for s in [self._listener, *socks]:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked on it; close() alone may not
            except OSError:
                pass
        self._listener.close()

    def __enter__(self) -> RtspRelay:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _track(self, s: socket.socket) -> bool:
        with self._lock:
            if self._closed or len(self._socks) >= 2 * MAX_CONNECTIONS:
                return False
            self._socks.add(s)
            return True

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            for s in socks:
                self._socks.discard(s)
        for s in socks:
            s.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if not self._track(client):
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), name="vigil-rtsp-relay-conn", daemon=True).start()

    def _connect(self) -> socket.socket:
        upstream = socket.create_connection((str(self.address), self.port), timeout=self.timeout)
        if self.tls_name is not None:
            # Unverified, as ffmpeg's own rtsps (tls_verify=0 by default): the address is what was checked.
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            upstream = ctx.wrap_socket(upstream, server_hostname=self.tls_name)
        return upstream

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            upstream = self._connect()
            with self._lock:
                self.connected.append((str(self.address), self.port))
            if not self._track(upstream):
                return
            self._pump(client, upstream)
        except RtspRefused as why:
            self.refused.append(str(why))
            log.warning("rtsp relay to %s:%d closed: the camera sent a %s", self.address, self.port, why)
        except OSError:
            pass
        finally:
            self._forget(client, *([upstream] if upstream is not None else []))

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        """Client bytes go up unchanged; camera bytes go down through an RtspReplyFilter."""
        client.settimeout(None)
        upstream.settimeout(None)
        relay(client, upstream, IDLE_S, RtspReplyFilter().feed)
