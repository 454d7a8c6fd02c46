"""Helpers for browser tests: a real `streamlit run app.py` on 127.0.0.1 and Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",  # the machine has no internet: no update or sync calls
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(
    data_dir: Path, log_path: Path, env_extra: dict[str, str] | None = None, args: list[str] | None = None
) -> tuple[subprocess.Popen, str]:
    """Start the app on a free loopback port and wait until it answers; returns (its process, its base URL).
    The caller stops it (``streamlit_app`` does; a restart test kills it by its pid)."""
    port = free_port()
    env = {**os.environ, "VIGIL_DATA_DIR": str(data_dir), **(env_extra or {})}
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        *(args or []),
    ]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail("streamlit did not start:\n" + log_path.read_text())
            time.sleep(0.3)


def stop(proc: subprocess.Popen) -> None:
    """Stop an app started by ``start_streamlit`` (politely, then for good)."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def streamlit_app(
    data_dir: Path, log_path: Path, env_extra: dict[str, str] | None = None, args: list[str] | None = None
):
    """Run the app on a free loopback port; yields its base URL; stops it afterwards.

    ``args``: more ``streamlit run`` flags, e.g. ``["--secrets.files", path]``."""
    proc, url = start_streamlit(data_dir, log_path, env_extra, args)
    try:
        yield url
    finally:
        stop(proc)


@contextmanager
def chromium(extra_args: list[str] | None = None, viewport=(1280, 720)):
    """Yields a Playwright page in Debian's Chromium (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium).")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + (extra_args or []))
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            yield page
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    """Save the whole app (Streamlit scrolls inside its main block, so grow the viewport to fit it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    size = page.viewport_size
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]'); return m ? m.scrollHeight : 0 }"
    )
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height), 6000))})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path
