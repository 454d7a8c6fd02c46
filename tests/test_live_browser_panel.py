"""The Live monitoring panel in a real browser (walk 4, findings 2, 3 and 5).

- server source at 1280x657 (a 1280x800 laptop window): the picture starts inside the first screen, not under the
  form; the picture and its state heading are one element, so at every look the heading's hue is the border's;
- browser camera: START after STOP does not show the previous run's alert as current.
"""

from __future__ import annotations

import re
import time

import pytest
from browser import chromium, screenshot, streamlit_app
from conftest import shared_path
from test_live_browser import FIGHT_CLIP, camera_frame, fake_camera, read_frames, resample, start_live, write_y4m
from test_live_browser_server import hue_name, rgb

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# One look: the picture and the heading that share its element, read in one call.
LOOK_JS = """() => {
  const img = document.querySelector('img[alt="the live picture"]');
  if (!img || !img.complete || !img.naturalWidth) return null;
  const box = img.closest('[data-testid=stMarkdownContainer]');
  const h = box && box.querySelector('h3');
  if (!h) return {together: false};
  const words = h.querySelector('.stMarkdownColoredText') || h;
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(1, Math.floor(c.height / 2), 1, 1).data;
  return {together: true, text: h.innerText, colour: getComputedStyle(words).color, border: [px[0], px[1], px[2]],
          top: img.getBoundingClientRect().top};
}"""


def test_server_panel_is_in_the_first_screen_and_its_words_are_its_pictures(tmp_path):
    fight = shared_path(*FIGHT_CLIP)
    env = {"VIGIL_MODELS_DIR": str(shared_path("models")), "VIGIL_LABEL_ROOTS": str(fight.parent)}
    with (
        streamlit_app(tmp_path / "data", tmp_path / "streamlit.log", env) as url,
        chromium(viewport=(1280, 657)) as page,
    ):
        page.goto(f"{url}/live")
        page.get_by_text("Server stream or file").click(timeout=60_000)
        page.get_by_label("Stream URL or video file on the server").fill(str(fight))
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Start monitoring").click(timeout=30_000)
        page.get_by_text(f"{fight.name} — running").first.wait_for(timeout=30_000)
        page.get_by_text("Start another source").first.wait_for(timeout=10_000)  # the form folded away
        looks = []
        for _ in range(12):
            page.wait_for_timeout(1000)
            look = page.evaluate(LOOK_JS)
            if look:
                looks.append(look)
        screenshot(page, "live-panel-1280.png")
    assert len(looks) >= 8, looks
    for look in looks:
        assert look["together"], look  # one element: the browser cannot show one without the other
        assert hue_name(*rgb(look["colour"])) == hue_name(*look["border"]), look
    assert max(look["top"] for look in looks) < 657 - 300, looks  # 300 px of the picture in the first screen


@pytest.fixture(scope="module")
def fight_y4m(tmp_path_factory):
    fight, fps = read_frames(shared_path(*FIGHT_CLIP), (640, 480))
    frames = [fight[0]] * (8 * 15) + resample(fight, fps, 15, 6.0)
    return write_y4m(tmp_path_factory.mktemp("y4m") / "fight.y4m", frames, 15)


def heading(page) -> str:
    return page.evaluate(
        "() => { const h = [...document.querySelectorAll('h3')].find(e => !e.innerText.includes('Alert log'));"
        " return h ? h.innerText : ''; }"
    )


def test_camera_start_after_stop_does_not_show_the_last_runs_alert(fight_y4m, tmp_path, monkeypatch):
    for name in ("VIGIL_SMTP_HOST", "VIGIL_ALERT_TO"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "VIGIL_ALERT_THRESHOLD": "0.2",
        "VIGIL_ALERT_SECONDS": "1",
        "VIGIL_DEFAULT_MODEL": "motion",
        "VIGIL_ICE_SERVERS": "[]",
    }
    with (
        streamlit_app(tmp_path / "data", tmp_path / "streamlit.log", env) as url,
        chromium(fake_camera(fight_y4m), viewport=(1024, 700)) as page,
    ):
        start_live(page, url)
        t0 = time.time()
        while time.time() - t0 < 120 and "alert raised" not in heading(page):
            page.wait_for_timeout(500)
        assert "alert raised" in heading(page), heading(page)
        frame = camera_frame(page)
        frame.get_by_role("button", name=re.compile("^stop$", re.I)).click(timeout=10_000)
        page.get_by_text("Camera stopped (last frame").first.wait_for(timeout=15_000)
        frame.get_by_role("button", name=re.compile("^start$", re.I)).click(timeout=10_000)
        seen = []
        for _ in range(10):  # the first seconds of the new run (the fake camera restarts on its still lead-in)
            page.wait_for_timeout(500)
            seen.append(heading(page))
        screenshot(page, "live-camera-restart.png")
    assert not [h for h in seen if "alert raised" in h or "cooldown" in h and "anomalous" in h], seen
    assert any(re.search(r"connecting|warming up|normal|cooldown", h) for h in seen), seen
