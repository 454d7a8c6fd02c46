"""Serving: the app's Streamlit config never asks an outside service for this machine's external IP.

Streamlit looks the IP up (``net_util.get_external_ip``: http(s)://checkip.amazonaws.com, via
``requests``) when it prints a headless start banner for a wildcard address without a manually set
``browser.serverAddress``. Every ``streamlit run`` here goes through a recording HTTP proxy on 127.0.0.1
(``HTTP(S)_PROXY``): a bare app with no config is the control that shows the lookup is seen.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from browser import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def recording_proxy():
    """A proxy that answers 502 to everything and keeps each request's first line."""
    seen: list[str] = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    seen.append(conn.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace"))
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}", seen
    finally:
        stop.set()
        t.join(2)
        srv.close()


def lookups_at_start(cwd: Path, script: str, proxy: str, seen: list[str], *flags: str) -> list[str]:
    """Start ``streamlit run script`` in ``cwd`` through ``proxy``; the proxied requests of its first seconds."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
    env.update(HTTP_PROXY=proxy, HTTPS_PROXY=proxy, http_proxy=proxy, https_proxy=proxy, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), *flags]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while "URL:" not in (line := proc.stdout.readline()):  # the banner is printed once the server is up
            assert line or proc.poll() is None, "streamlit exited before its banner"
            assert time.time() < deadline, "no start banner within 60 s"
        time.sleep(3.0)  # each lookup times out after 1 s; give them time to reach the proxy
        return [s for s in seen if "checkip" in s]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_bare_streamlit_app_looks_up_the_external_ip_and_the_proxy_sees_it(tmp_path):
    (tmp_path / "bare.py").write_text("import streamlit as st\nst.write('hi')\n")
    with recording_proxy() as (proxy, seen):
        found = lookups_at_start(tmp_path, "bare.py", proxy, seen, "--server.headless", "true")
    assert found and "checkip.amazonaws.com" in found[0]


@pytest.mark.parametrize(
    "flags",
    [
        (),  # the repository's config: localhost
        ("--server.address", "0.0.0.0"),  # opened to a network (the gate still refuses every page here)
    ],
    ids=["default", "network"],
)
def test_vigil_never_looks_up_the_external_ip(flags):
    with recording_proxy() as (proxy, seen):
        found = lookups_at_start(REPO, "app.py", proxy, seen, *flags)
    assert found == []
