"""The default model (vigil) live, in a real browser: a fight on the fake camera emails an alert within 15 s of
the first scored frame; the calm pedestrian clip sends none in the same time.

Same machinery as tests/test_live_browser.py (Chromium fake camera from a y4m file, ``streamlit run app.py``,
an aiosmtpd server on 127.0.0.1), but no model is chosen on the page and the alert rule keeps its defaults
(``VIGIL_ALERT_THRESHOLD`` 0.6 for ``VIGIL_ALERT_SECONDS`` 3 s): what a new user gets. The MoViNet weights of
../shared are present, so the default model has its fight cue. The fight clip is looped with no lead-in:
the fight cue needs no baseline, and each loop restart is a scene cut that the model must not alert on.
"""

from __future__ import annotations

import time

import pytest
from browser import ARTIFACTS, chromium, streamlit_app
from conftest import shared_path
from test_live_browser import FIGHT_CLIP, fake_camera, mail_env, metric, read_frames, resample, start_live, write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ALERT_WITHIN_S = 15.0


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    out = tmp_path_factory.mktemp("y4m-default")
    fight, fps = read_frames(shared_path(*FIGHT_CLIP), (640, 480))
    calm, cfps = read_frames(shared_path("data", "clips", "vtest.avi"), (480, 360))
    return {
        "fight": write_y4m(out / "fight.y4m", resample(fight, fps, 15, 20.0), 15),
        "calm": write_y4m(out / "calm.y4m", resample(calm, cfps, 10, 30.0), 10),
    }


@pytest.fixture
def app(tmp_path, smtp):
    _, smtp_port = smtp
    env = {**mail_env(smtp_port), "VIGIL_MODELS_DIR": str(shared_path("models"))}
    with streamlit_app(tmp_path / "data", tmp_path / "streamlit.log", env) as url:
        yield url


def _first_scored(page, t0: float, limit: float) -> float | None:
    while time.time() - t0 < limit:
        if metric(page, "Scored fps") > 0:
            return time.time()
        page.wait_for_timeout(250)
    return None


SECONDS: list[float] = []


def test_default_model_fight_on_the_camera_emails_within_15_s(clips, app, smtp):
    inbox, _ = smtp
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium(fake_camera(clips["fight"]), viewport=(1400, 1100)) as page:
        start_live(page, app)
        assert "The default. Finds objects" in page.inner_text("body")  # no model chosen: the default (vigil) shows
        t0 = time.time()
        scored = _first_scored(page, t0, 60)
        assert scored is not None, "no frame was scored within 60 s of START"
        while time.time() - scored < 60 and not inbox.messages:
            page.wait_for_timeout(250)
        took = time.time() - scored
        SECONDS.append(took)
        print(f"\nalert email {took:.1f} s after the first scored frame")
        page.screenshot(path=str(ARTIFACTS / "live-default-fight.png"), full_page=True)
    assert inbox.messages, "no alert email within 60 s of the first scored frame"
    assert took <= ALERT_WITHIN_S, f"the alert email came {took:.1f} s after the first scored frame"
    msg = inbox.messages[0]
    assert msg["Subject"].startswith("Vigil alert: browser camera anomalous for")
    assert "fight" in msg["Subject"]  # the cause travels into the email


def test_default_model_calm_clip_sends_nothing(clips, app, smtp):
    inbox, _ = smtp
    with chromium(fake_camera(clips["calm"]), viewport=(1400, 1100)) as page:
        start_live(page, app)
        t0 = time.time()
        scored = _first_scored(page, t0, 60)
        assert scored is not None, "the calm video was not being scored"
        wait = max(30.0, (SECONDS[0] if SECONDS else ALERT_WITHIN_S) + 15.0)
        while time.time() - scored < wait:
            page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "live-default-calm.png"), full_page=True)
        text = page.inner_text("body")
    assert inbox.messages == [], f"calm video raised {len(inbox.messages)} email(s): {inbox.messages[0]['Subject']}"
    assert "alert raised" not in text
