"""In a real browser at 1024x700, email not configured: the Live metrics are readable, an alert reads
"alert raised, email not configured" (never "sent"), and after STOP the page says "stopped" instead of
showing the last readings as current.

Same fake camera as test_live_browser (a still lead-in, then a fight); a low threshold (0.2, 1 s) so the
motion model raises an alert soon after the fight starts.
"""

from __future__ import annotations

import re
import time

import pytest
from browser import ARTIFACTS, chromium, screenshot, streamlit_app
from conftest import shared_path
from test_live_browser import (
    FIGHT_CLIP,
    camera_frame,
    fake_camera,
    metric,
    read_frames,
    resample,
    start_live,
    write_y4m,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Elements of a metric whose content is wider than their box: Streamlit cuts such text with "…" (the
# clipping box is an ancestor of the text, so every element is checked, not only the innermost).
CUT_METRIC_TEXT = """() => Array.from(document.querySelectorAll("[data-testid='stMetric'] *"))
    .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.textContent)"""


@pytest.fixture(scope="module")
def fight_y4m(tmp_path_factory):
    fight, fps = read_frames(shared_path(*FIGHT_CLIP), (640, 480))
    frames = [fight[0]] * (8 * 15) + resample(fight, fps, 15, 6.0)
    return write_y4m(tmp_path_factory.mktemp("y4m") / "fight.y4m", frames, 15)


@pytest.fixture
def app(tmp_path, monkeypatch):
    for name in ("VIGIL_SMTP_HOST", "VIGIL_ALERT_TO"):
        monkeypatch.delenv(name, raising=False)  # email not configured
    env = {
        "VIGIL_ALERT_THRESHOLD": "0.2",
        "VIGIL_ALERT_SECONDS": "1",
        "VIGIL_DEFAULT_MODEL": "motion",
        "VIGIL_ICE_SERVERS": "[]",
    }
    with streamlit_app(tmp_path / "data", tmp_path / "streamlit.log", env) as url:
        yield url


def body(page) -> str:
    return page.inner_text("body")


def test_live_at_1024_says_what_happened_and_stops_clearly(fight_y4m, app):
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium(fake_camera(fight_y4m), viewport=(1024, 700)) as page:
        start_live(page, app)
        t0 = time.time()
        while time.time() - t0 < 60 and metric(page, "fps") <= 0:
            page.wait_for_timeout(500)
        assert metric(page, "fps") > 0, "no frames were scored within 60 s"
        page.wait_for_timeout(1500)
        cut = page.evaluate(CUT_METRIC_TEXT)
        screenshot(page, "live-1024-running.png")
        assert cut == [], f"metric text cut off at 1024 px: {cut}"

        while time.time() - t0 < 90 and "alert raised" not in body(page):
            page.wait_for_timeout(500)
        # the outbox record is written just after the state turns, and the log redraws every 3 s: wait for it
        t1 = time.time()
        while time.time() - t1 < 15 and "emailed" not in body(page):
            page.wait_for_timeout(500)
        text = body(page)
        screenshot(page, "live-1024-alert.png")
        assert "alert raised, email not configured" in text, text
        assert "alert sent" not in text and "emailed" in text  # the log's summary line is there

        stop = camera_frame(page).get_by_role("button", name=re.compile("^stop$", re.I))
        stop.click(timeout=10_000)
        page.get_by_text("Camera stopped (last frame").first.wait_for(timeout=15_000)
        page.wait_for_timeout(1500)
        text = body(page)
        tiles = page.locator("[data-testid='stMetric']").count()
        screenshot(page, "live-1024-stopped.png")
    assert re.search(r"^(stop_circle )?stopped$", text, re.M), text  # the heading (its icon is a ligature)
    assert tiles == 0  # no Score / Scored fps / Latency / Skipped tiles posing as current
