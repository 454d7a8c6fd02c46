"""Outbound fetches of user-given links: only public addresses, checked after DNS and on every hop.

A link typed by a visitor must not make the server talk to itself, its LAN or the cloud metadata
service (server-side request forgery). ``FetchPolicy`` decides per (host, address, port); the checks
run on the addresses a name resolves to, not on the text of the URL, so decimal (``2130706433``),
octal, IPv6-mapped and rebinding tricks all end on the same test.

yt-dlp is pointed at ``guarded_proxy()``: a SOCKS5 proxy on 127.0.0.1 inside this process that
resolves each requested host itself, checks every address, and connects to the checked address
(pinned: no second lookup can change it). Every request yt-dlp makes, redirects included, is a new
CONNECT through it, so each hop is checked. Live's http(s) streams are opened by ffmpeg, which cannot
use that proxy: ``follow_redirects`` walks their redirects first, each hop checked and pinned, and
ffmpeg opens the final URL with its own redirects off, plain http pinned to the checked address in the
URL, https (which needs the name for TLS) through ``ConnectProxy``, an HTTP CONNECT guard pinned to
that address; rtsp(s) streams go through the relay in
core/rtsp_relay.py, which refuses RTSP redirects. ``strip_credentials`` keeps ``user:pass@`` out
of everything that is stored or shown.

Every refusal and every network failure reads the same (``FETCH_FAILED``): a visitor cannot tell a
forbidden address from a closed port from an open one.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import re
import secrets
import selectors
import socket
import socketserver
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from core.errors import NetworkError

# the same for every refusal and failure (see above), with a next step that tells nothing of the network
FETCH_FAILED = "Could not fetch this link. Check that it opens in a browser, is public and the address is complete."

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenAddressError(NetworkError):
    """A link resolved to a loopback, private, link-local, multicast, reserved or unspecified address."""


# --- addresses ------------------------------------------------------------------------------------------
def _unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv6 one (::ffff:a.b.c.d, 6to4, Teredo, NAT64), else ip itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
        if ip in ipaddress.IPv6Network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public(ip: IPAddress | str) -> bool:
    """True for a globally routable unicast address; False for loopback, private (10/8, 172.16/12,
    192.168/16, fc00::/7), link-local (169.254/16, fe80::/10), multicast, reserved, unspecified,
    shared (100.64/10) and documentation ranges, also when wrapped in IPv6."""
    ip = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    for a in {ip, _unwrap(ip)}:
        if not a.is_global or a.is_multicast or a.is_reserved or a.is_unspecified or a.is_loopback:
            return False
        if a.is_link_local or a.is_private:
            return False
    return True


# --- policy ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AllowRule:
    """One allow-list entry: a host name, an address or a network, optionally with a port."""

    host: str | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> AllowRule:
        """``cam.lan``, ``cam.lan:554``, ``10.0.0.0/8``, ``127.0.0.1:8080``, ``[::1]:8080``, ``fd00::/8``."""
        text = text.strip()
        port: int | None = None
        m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", text)
        if m:
            body, port = m.group(1), int(m.group(2)) if m.group(2) else None
        elif text.count(":") == 1:
            body, p = text.rsplit(":", 1)
            port = int(p)
        else:
            body = text
        try:
            return cls(network=ipaddress.ip_network(body, strict=False), port=port)
        except ValueError:
            return cls(host=body.lower().rstrip("."), port=port)

    def matches(self, host: str, ip: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return any(a.version == self.network.version and a in self.network for a in {ip, _unwrap(ip)})
        return host.lower().rstrip(".") == self.host


@dataclass(frozen=True)
class FetchPolicy:
    """Which addresses links may reach: public ones, plus the explicit allow-list (LAN cameras, tests).

    ``allow``: entries for private hosts an administrator trusts (setting ``allow_private_hosts``,
    ``$VIGIL_ALLOW_PRIVATE_HOSTS``). Empty by default: no loopback, LAN or metadata address is reachable.
    """

    allow: tuple[AllowRule, ...] = field(default_factory=tuple)

    @classmethod
    def from_settings(cls) -> FetchPolicy:
        from core.settings import settings

        return cls(tuple(AllowRule.parse(p) for p in settings().allow_private_hosts))

    def permits(self, host: str, ip: IPAddress | str, port: int) -> bool:
        ip = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        return is_public(ip) or any(r.matches(host, ip, port) for r in self.allow)

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Addresses of ``host``, all of them permitted, or ForbiddenAddressError/NetworkError (same words)."""
        host = host.strip("[]")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise NetworkError(FETCH_FAILED) from None
        addrs: list[IPAddress] = []
        for *_, sockaddr in infos:
            ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
            if ip not in addrs:
                addrs.append(ip)
        # One forbidden address refuses the name: a rebinding name may answer both kinds.
        if not addrs or not all(self.permits(host, ip, port) for ip in addrs):
            raise ForbiddenAddressError(FETCH_FAILED)
        return addrs

    def connect(self, host: str, port: int, timeout: float, address: IPAddress | None = None) -> socket.socket:
        """A TCP connection to a checked address of ``host`` (the address is pinned: no second lookup).

        ``address``: the one an earlier check of ``host`` gave; it is checked again and used without a lookup
        (a name that rebinds after that check cannot move the connection)."""
        if address is not None and not self.permits(host.strip("[]"), address, port):
            raise ForbiddenAddressError(FETCH_FAILED)
        last: OSError | None = None
        for ip in [address] if address is not None else self.resolve(host, port):
            try:
                return socket.create_connection((str(ip), port), timeout=timeout)
            except OSError as err:
                last = err
        raise NetworkError(FETCH_FAILED) from last

    def check_url(self, url: str, default_port: int | None = None) -> list[IPAddress]:
        """Resolve and check the host of ``url``; returns its permitted addresses."""
        parts = urlsplit(url)
        if not parts.hostname:
            raise NetworkError(FETCH_FAILED)
        try:
            port = parts.port or default_port or DEFAULT_PORTS.get(parts.scheme.lower(), 0)
        except ValueError:
            raise NetworkError(FETCH_FAILED) from None
        return self.resolve(parts.hostname, port)


DEFAULT_PORTS = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322, "rtmp": 1935, "rtmps": 443}


# --- credentials ----------------------------------------------------------------------------------------
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s?#]*@)")


def strip_credentials(text: str) -> str:
    """``text`` with every ``scheme://user:pass@`` reduced to ``scheme://`` (URLs or messages containing them)."""
    return _USERINFO.sub(lambda m: m.group("scheme"), text) if text else text


def has_credentials(url: str) -> bool:
    return bool(_USERINFO.search(url or ""))


def pin_url(url: str, ip: IPAddress) -> str:
    """``url`` with its host replaced by the checked address (keeps credentials, port, path)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{userinfo}{host}{port}"))


# --- redirects followed hop by hop ------------------------------------------------------------------------
REDIRECT_CODES = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 5
PROBE_HEADERS = {"Accept": "*/*", "User-Agent": "Vigil-redirect-check"}  # servers' logs tell it from playback


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to a checked address of its host (``FetchPolicy.connect``); TLS keeps the name (SNI)."""

    def __init__(self, host: str, port: int, policy: FetchPolicy, timeout: float, tls: bool):
        super().__init__(host, port, timeout=timeout)
        self._policy, self._tls = policy, tls

    def connect(self) -> None:
        sock = self._policy.connect(self.host, self.port, self.timeout)
        if self._tls:
            # Unverified on purpose: this request only reads a Location (every hop is checked anyway) and
            # carries no credentials; ffmpeg, which plays the stream, does not verify either by default.
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname=self.host)
        self.sock = sock


def follow_redirects(
    url: str, policy: FetchPolicy | None = None, timeout: float = 10.0, max_hops: int = MAX_REDIRECTS
) -> tuple[str, IPAddress]:
    """Where an http(s) ``url`` ends after its redirects, and the checked address its final host answered on.

    Each hop's host is resolved and checked (``FetchPolicy.connect``) before a byte goes to it; a GET is
    sent without credentials and only the status and headers are read (a camera stream never ends), then
    the connection is closed. Credentials in ``url`` stay on the final URL only while the hops keep its
    scheme, host and port. Any refusal, failure, non-http(s) target or more than ``max_hops`` redirects
    raises NetworkError(FETCH_FAILED). ``timeout``: seconds per connect and per header read.
    """
    policy = policy or FetchPolicy.from_settings()
    first, current = urlsplit(url), url
    for _ in range(max_hops + 1):
        parts = urlsplit(current)
        scheme = parts.scheme.lower()
        try:
            port = parts.port or DEFAULT_PORTS.get(scheme, 0)
        except ValueError:
            raise NetworkError(FETCH_FAILED) from None
        if scheme not in ("http", "https") or not parts.hostname:
            raise NetworkError(FETCH_FAILED)
        conn = _PinnedHTTPConnection(parts.hostname, port, policy, timeout, tls=scheme == "https")
        try:
            conn.connect()
            address = ipaddress.ip_address(conn.sock.getpeername()[0].split("%")[0])
            conn.request("GET", urlunsplit(("", "", parts.path or "/", parts.query, "")), headers=PROBE_HEADERS)
            resp = conn.getresponse()
            status, location = resp.status, resp.getheader("Location")
            resp.close()
            if status not in REDIRECT_CODES or not location:
                return current, address
            target = urlsplit(urljoin(strip_credentials(current), location.strip()))
            origin = (target.scheme.lower(), target.hostname, target.port)
            if origin == (first.scheme.lower(), first.hostname, first.port) and first.username is not None:
                if target.username is None:  # same server: keep the typed credentials, never send them elsewhere
                    target = target._replace(netloc=first.netloc.rsplit("@", 1)[0] + "@" + target.netloc)
            current = urlunsplit(target)
        except NetworkError:
            raise
        except (OSError, http.client.HTTPException, ValueError, UnicodeError):
            raise NetworkError(FETCH_FAILED) from None
        finally:
            conn.close()
    raise NetworkError(FETCH_FAILED)


# --- the guarded SOCKS5 proxy ---------------------------------------------------------------------------
class _Socks5Handler(socketserver.BaseRequestHandler):
    server: _GuardServer

    def _recv(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                raise ConnectionError("client closed")
            data += chunk
        return data

    def _reply(self, code: int) -> None:
        self.request.sendall(struct.pack("!BBBB4sH", 5, code, 0, 1, b"\0\0\0\0", 0))

    def handle(self) -> None:  # RFC 1928 (CONNECT only) with RFC 1929 user/password
        s: socket.socket = self.request
        s.settimeout(self.server.timeout_s)
        try:
            ver, n = self._recv(2)
            methods = self._recv(n)
            if ver != 5 or 2 not in methods:
                s.sendall(b"\x05\xff")
                return
            s.sendall(b"\x05\x02")
            _, ulen = self._recv(2)
            user = self._recv(ulen)
            (plen,) = self._recv(1)
            password = self._recv(plen)
            if not secrets.compare_digest(user + b":" + password, self.server.secret):
                s.sendall(b"\x01\x01")
                return
            s.sendall(b"\x01\x00")
            _, cmd, _, atyp = self._recv(4)
            if atyp == 1:
                host = socket.inet_ntop(socket.AF_INET, self._recv(4))
            elif atyp == 4:
                host = socket.inet_ntop(socket.AF_INET6, self._recv(16))
            elif atyp == 3:
                host = self._recv(self._recv(1)[0]).decode("idna")
            else:
                self._reply(8)
                return
            (port,) = struct.unpack("!H", self._recv(2))
            if cmd != 1:
                self._reply(7)
                return
            try:
                upstream = self.server.open_upstream(host, port)
            except ForbiddenAddressError:
                self._reply(2)  # "connection not allowed by ruleset"
                return
            except NetworkError:
                self._reply(5)
                return
            with upstream:
                self._reply(0)
                relay(s, upstream, self.server.timeout_s)
        except (OSError, ConnectionError, ValueError, UnicodeError):
            return


def relay(a: socket.socket, b: socket.socket, idle_s: float, b_to_a: Callable[[bytes], bytes] | None = None) -> None:
    """Copy bytes both ways until one side closes or nothing moves for ``idle_s`` seconds. ``b_to_a`` (optional)
    passes what ``b`` sends on its way to ``a`` (it may raise to end the relay: core.rtsp_relay's reply filter).
    A TLS socket's already-decrypted bytes, which select cannot see, are read with the rest."""
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, (b, None))
    sel.register(b, selectors.EVENT_READ, (a, b_to_a))
    try:
        while True:
            events = sel.select(idle_s)
            if not events:
                return
            for key, _ in events:
                src: socket.socket = key.fileobj  # type: ignore[assignment]
                dst, passes = key.data
                data = src.recv(1 << 16)
                while isinstance(src, ssl.SSLSocket) and src.pending():
                    data += src.recv(src.pending())
                if not data:
                    return
                dst.sendall(data if passes is None else passes(data))
    finally:
        sel.close()


class _GuardServer(socketserver.ThreadingTCPServer):
    """A proxy on 127.0.0.1 (random port and credentials) whose handlers reach upstream only via ``open_upstream``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        handler: type[socketserver.BaseRequestHandler],
        policy: FetchPolicy,
        timeout_s: float,
        pins: dict[tuple[str, int], IPAddress] | None = None,
    ):
        super().__init__(("127.0.0.1", 0), handler)
        self.policy, self.timeout_s = policy, timeout_s
        self.pins = {(_host_key(h), p): ip for (h, p), ip in (pins or {}).items()}
        self.user, self.password = secrets.token_hex(8), secrets.token_hex(16)
        self.secret = f"{self.user}:{self.password}".encode()
        self.refused: list[tuple[str, int]] = []
        self.connected: list[tuple[str, int]] = []

    def open_upstream(self, host: str, port: int) -> socket.socket:
        """A connection to ``host:port`` at its pinned address (checked again, no lookup) or, unpinned, at an
        address resolved now, every one checked. ForbiddenAddressError (recorded in ``refused``) or NetworkError."""
        try:
            sock = self.policy.connect(host, port, self.timeout_s, self.pins.get((_host_key(host), port)))
        except ForbiddenAddressError:
            self.refused.append((host, port))
            raise
        self.connected.append((host, port))
        return sock


def _host_key(host: str) -> str:
    return host.strip("[]").lower().rstrip(".")


@dataclass
class GuardedProxy:
    """A running guard: ``url`` for yt-dlp's ``proxy`` option; ``refused`` lists blocked (host, port)."""

    url: str
    refused: list[tuple[str, int]]


@contextmanager
def guarded_proxy(policy: FetchPolicy | None = None, timeout: float = 20.0) -> Iterator[GuardedProxy]:
    """A SOCKS5 proxy on 127.0.0.1 (random port and password) that only connects where ``policy`` permits."""
    server = _GuardServer(_Socks5Handler, policy or FetchPolicy.from_settings(), timeout)
    thread = threading.Thread(target=server.serve_forever, name="vigil-netguard", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield GuardedProxy(f"socks5h://{server.user}:{server.password}@{host}:{port}", server.refused)
    finally:
        server.shutdown()
        server.server_close()


# --- the guarded HTTP CONNECT proxy (ffmpeg's https streams) --------------------------------------------
MAX_PROXY_HEADER = 16384  # bytes of a CONNECT request and its headers
_CONNECT_FAILED = (
    f"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {len(FETCH_FAILED)}\r\n"
    f"Connection: close\r\n\r\n{FETCH_FAILED}"
).encode()


class _ConnectHandler(socketserver.BaseRequestHandler):
    """RFC 9110 CONNECT with Basic proxy auth; anything else, or a refused target, gets one fixed answer."""

    server: _GuardServer

    def _head(self) -> tuple[bytes, bytes]:
        """The request head (up to its blank line) and whatever the client already sent after it."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk or len(data) > MAX_PROXY_HEADER:
                raise ConnectionError("no request")
            data += chunk
        head, _, early = data.partition(b"\r\n\r\n")
        return head, early

    def _authorized(self, lines: list[bytes]) -> bool:
        for line in lines:
            name, _, value = line.partition(b":")
            scheme, _, token = value.strip().partition(b" ")
            if name.strip().lower() == b"proxy-authorization" and scheme.lower() == b"basic":
                try:
                    return secrets.compare_digest(base64.b64decode(token.strip(), validate=True), self.server.secret)
                except ValueError:
                    return False
        return False

    def handle(self) -> None:
        s: socket.socket = self.request
        s.settimeout(self.server.timeout_s)
        try:
            head, early = self._head()
            request, *headers = head.split(b"\r\n")
            method, target, _ = request.split(b" ", 2)
            if not self._authorized(headers):  # ffmpeg asks without, then again with, like a browser
                s.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="vigil"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
                )
                return
            host, _, port_text = target.decode("ascii").rpartition(":")
            if method != b"CONNECT" or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
                s.sendall(_CONNECT_FAILED)  # a plain-http request through us would show us its credentials
                return
            try:
                upstream = self.server.open_upstream(host.strip("[]"), int(port_text))
            except NetworkError:  # forbidden, unresolvable and unreachable read the same
                s.sendall(_CONNECT_FAILED)
                return
            with upstream:
                s.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if early:
                    upstream.sendall(early)
                relay(s, upstream, self.server.timeout_s)
        except (OSError, ConnectionError, ValueError, UnicodeError):
            return


class ConnectProxy:
    """A guarded HTTP CONNECT proxy on 127.0.0.1 (random port and password), for ffmpeg's ``http_proxy``
    option: ffmpeg's TLS then opens ``CONNECT host:port`` here and does its handshake (SNI, certificate,
    the stream's credentials) through the tunnel, end to end with the camera; this proxy sees only the
    target name. It connects to ``pins[(host, port)]`` for a pinned target (the address an earlier check
    gave, checked again, never looked up again) and otherwise resolves the name itself and checks every
    address (``FetchPolicy.connect``). ``connected``/``refused``: the (host, port) targets it reached/blocked.
    Runs until ``close()`` (also a context manager)."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        pins: dict[tuple[str, int], IPAddress] | None = None,
        timeout: float = 20.0,
    ):
        self._server = _GuardServer(_ConnectHandler, policy or FetchPolicy.from_settings(), timeout, pins)
        self.connected, self.refused = self._server.connected, self._server.refused
        self._thread = threading.Thread(target=self._server.serve_forever, name="vigil-connect-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://user:password@127.0.0.1:port``: secret, never shown or stored."""
        host, port = self._server.server_address[:2]
        return f"http://{self._server.user}:{self._server.password}@{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ConnectProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
