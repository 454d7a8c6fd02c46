"""Links may reach public addresses only: the SSRF table, checked after DNS and on every redirect."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from conftest import QuietHandler, RedirectingHandler, allow_private_host, http_server

from core import errors
from core.config import SourceLimits
from core.netguard import (
    FETCH_FAILED,
    AllowRule,
    FetchPolicy,
    ForbiddenAddressError,
    is_public,
    pin_url,
    strip_credentials,
)
from core.sources import open_source


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FORBIDDEN = [
    "127.0.0.1",
    "127.5.5.5",
    "10.0.0.1",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "192.168.255.255",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::1",
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:81c::200e"]


@pytest.mark.parametrize("ip", FORBIDDEN)
def test_forbidden_addresses(ip):
    assert not is_public(ip)
    assert not FetchPolicy().permits("x", ip, 80)


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses(ip):
    assert is_public(ip) and FetchPolicy().permits("x", ip, 443)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "2130706433", "0x7f000001", "017700000001", "127.1", "localhost", "::1", "[::1]", "::ffff:7f00:1"],
)
def test_encoded_loopback_forms_resolve_and_are_refused(host):
    with pytest.raises(ForbiddenAddressError) as err:
        FetchPolicy().resolve(host, 80)
    assert str(err.value) == FETCH_FAILED


@pytest.mark.parametrize(
    "text, host, ip, port, ok",
    [
        ("127.0.0.1:8080", "127.0.0.1", "127.0.0.1", 8080, True),
        ("127.0.0.1:8080", "127.0.0.1", "127.0.0.1", 8081, False),
        ("127.0.0.1", "127.0.0.1", "127.0.0.1", 1, True),
        ("10.0.0.0/8", "cam", "10.2.3.4", 554, True),
        ("10.0.0.0/8", "cam", "11.2.3.4", 554, False),
        ("cam.lan", "CAM.lan.", "192.168.1.5", 554, True),
        ("cam.lan:554", "cam.lan", "192.168.1.5", 80, False),
        ("[::1]:9000", "::1", "::1", 9000, True),
        ("[::1]:9000", "::1", "::1", 9001, False),
        ("fd00::/8", "x", "fd12::1", 80, True),
        ("127.0.0.1", "x", "::ffff:127.0.0.1", 80, True),  # a mapped address matches its IPv4 rule
    ],
)
def test_allow_rules(text, host, ip, port, ok):
    assert AllowRule.parse(text).matches(host, ipaddress.ip_address(ip), port) is ok


def test_policy_from_env(monkeypatch):
    monkeypatch.setenv("VIGIL_ALLOW_PRIVATE_HOSTS", "127.0.0.1:5000, cam.lan")
    policy = FetchPolicy.from_settings()
    assert policy.permits("127.0.0.1", "127.0.0.1", 5000)
    assert not policy.permits("127.0.0.1", "127.0.0.1", 5001)
    assert policy.permits("cam.lan", "10.1.1.1", 554)
    assert not policy.permits("other", "10.1.1.1", 554)


def test_credentials_are_stripped_from_urls_and_messages():
    assert strip_credentials("http://bob:s3cret@cam.lan:8080/x?y=1") == "http://cam.lan:8080/x?y=1"
    assert strip_credentials("rtsp://u@h/s") == "rtsp://h/s"
    msg = "ERROR: [generic] Unable to download https://a:b@x.org/v.mp4 and http://c:d@y.org/"
    assert "b@" not in strip_credentials(msg) and "d@" not in strip_credentials(msg)
    assert strip_credentials("plain text, no link") == "plain text, no link"
    assert pin_url("rtsp://u:p@cam.lan:554/s", ipaddress.ip_address("10.0.0.5")) == "rtsp://u:p@10.0.0.5:554/s"
    assert pin_url("http://h/s", ipaddress.ip_address("::1")) == "http://[::1]/s"


# --- end to end through yt-dlp and the guard ------------------------------------------------------------
@pytest.fixture
def clip_root(tmp_path, make_video):
    root = tmp_path / "site"
    root.mkdir()
    (root / "clip.mp4").write_bytes(make_video("clip.mp4", n=30, fps=10).read_bytes())
    return root


class SiteA(RedirectingHandler):
    hits: list[str] = []
    redirect_to = ""


class SiteB(QuietHandler):
    hits: list[str] = []


@pytest.mark.parametrize(
    "form",
    [
        "http://127.0.0.1:{port}/clip.mp4",
        "http://localhost:{port}/clip.mp4",
        "http://2130706433:{port}/clip.mp4",  # decimal-encoded 127.0.0.1
        "http://0x7f.1:{port}/clip.mp4",
        "http://[::ffff:127.0.0.1]:{port}/clip.mp4",
        "http://[::1]:{port}/clip.mp4",
    ],
)
def test_loopback_link_is_refused_without_a_request(clip_root, form):
    with http_server(clip_root, allow=False, handler=SiteB) as url:
        port = url.rsplit(":", 1)[1]
        with pytest.raises(errors.NetworkError) as err:
            open_source(form.format(port=port), limits=SourceLimits(timeout=3))
        assert str(err.value) == FETCH_FAILED
        assert SiteB.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/v.mp4",
        "http://192.168.1.1/v.mp4",
        "http://172.16.5.4/v.mp4",
        "http://[fe80::1]/v.mp4",
        "http://0.0.0.0/v.mp4",
    ],
)
def test_private_and_metadata_links_are_refused(url):
    with pytest.raises(errors.NetworkError) as err:
        open_source(url, limits=SourceLimits(timeout=2))
    assert str(err.value) == FETCH_FAILED


def test_redirect_from_an_allowed_server_to_a_forbidden_one_is_not_followed(clip_root, vigil_env):
    with (
        http_server(clip_root, allow=False, handler=SiteB) as b,
        http_server(clip_root, allow=False, handler=SiteA) as a,
    ):
        SiteA.redirect_to = f"{b}/clip.mp4"  # same address, other port: not on the allow-list
        with allow_private_host(a.removeprefix("http://")):
            with pytest.raises(errors.NetworkError) as err:
                open_source(f"{a}/go.mp4", limits=SourceLimits(timeout=3))
            assert str(err.value) == FETCH_FAILED
            assert SiteA.hits == ["/go.mp4"] and SiteB.hits == []  # the first hop ran, the second never did
            # control: a redirect that stays on the allowed server is followed (the guard is per hop)
            SiteA.redirect_to = f"{a}/clip.mp4"
            src = open_source(f"{a}/go2.mp4", limits=SourceLimits(timeout=3))
            assert src.meta.frame_count == 30
    assert not list((vigil_env / "downloads").glob(".dl-*"))


def test_closed_open_and_forbidden_ports_read_the_same(clip_root):
    closed = free_port()
    messages = set()
    with http_server(clip_root, allow=False) as url:
        with allow_private_host(f"127.0.0.1:{closed}"):
            for link in (f"http://127.0.0.1:{closed}/clip.mp4", f"{url}/clip.mp4", "http://10.9.9.9/x.mp4"):
                with pytest.raises(errors.SourceError) as err:
                    open_source(link, limits=SourceLimits(timeout=3))
                messages.add(str(err.value))
    assert messages == {FETCH_FAILED}
