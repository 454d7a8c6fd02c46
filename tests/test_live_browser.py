"""End to end in a real browser: fake camera → WebRTC → Live page → alert email on a local SMTP server.

Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; never ``playwright install``) gets
a fake camera fed from a y4m file; ``streamlit run app.py`` is started on a free port with the SMTP
and alert settings in its environment; an aiosmtpd server on 127.0.0.1 collects the emails.

- Abnormal: a still view of the scene (8 s), then a fight clip from ../shared/data/fights (looped for
  6 s), the whole file looped by Chromium. The lead-in is there because the motion model is
  self-referenced: it learns the scene's usual motion over the trailing minute (3 s warm-up), so a
  camera that shows a fight from its very first frame would take the fight as "usual".
- Calm: the OpenCV pedestrian clip (vtest.avi). In at least the time the fight took to raise an
  email, it must raise none — while frames are demonstrably scored.

Thresholds (0.6, 2 s, 1 s smoothing) come from replaying both sequences through the live scorer:
the fight run alerts ~3 s after the fight starts whatever point of the loop scoring begins at, and
vtest's smoothed score peaks near 0.38.
"""

from __future__ import annotations

import re
import time
from email.message import Message
from pathlib import Path

import cv2
import numpy as np
import pytest
from browser import ARTIFACTS, chromium, streamlit_app
from conftest import shared_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIGHT_CLIP = ("data", "fights", "fight", "fi001.mp4")


def read_frames(path: Path, size: tuple[int, int]) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(f, size, interpolation=cv2.INTER_AREA))
    cap.release()
    assert frames, f"cannot decode {path}"
    return frames, fps


def resample(frames: list[np.ndarray], src_fps: float, fps: int, seconds: float) -> list[np.ndarray]:
    """``seconds`` of ``frames`` (looped) at ``fps``."""
    return [frames[int(i * src_fps / fps) % len(frames)] for i in range(int(seconds * fps))]


def write_y4m(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    """Raw I420 y4m, the format Chromium's --use-file-for-fake-video-capture reads."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for fr in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(fr, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("y4m")
    fight, fps = read_frames(shared_path(*FIGHT_CLIP), (640, 480))
    abnormal = [fight[0]] * (8 * 15) + resample(fight, fps, 15, 6.0)
    calm, cfps = read_frames(shared_path("data", "clips", "vtest.avi"), (480, 360))
    return {
        "fight": write_y4m(out / "fight.y4m", abnormal, 15),
        "calm": write_y4m(out / "calm.y4m", resample(calm, cfps, 10, 30.0), 10),
    }


def mail_env(smtp_port: int) -> dict[str, str]:
    """The app's settings for the local SMTP server: one recipient, a long cooldown, no STUN."""
    return {
        "VIGIL_SMTP_HOST": "127.0.0.1",
        "VIGIL_SMTP_PORT": str(smtp_port),
        "VIGIL_SMTP_SECURITY": "none",
        "VIGIL_SMTP_USER": "",
        "VIGIL_ALERT_TO": "guard@example.com",
        "VIGIL_ALERT_COOLDOWN": "600",
        "VIGIL_ICE_SERVERS": "[]",  # no STUN: everything stays on this machine
    }


@pytest.fixture
def app(tmp_path, smtp):
    """``streamlit run app.py`` on a free 127.0.0.1 port, configured for the local SMTP server."""
    _, smtp_port = smtp
    env = {
        **mail_env(smtp_port),
        "VIGIL_ALERT_THRESHOLD": "0.6",
        "VIGIL_ALERT_SECONDS": "2",
        # The weight-free motion scorer's live path (the default model has its own test_live_browser_default)
        "VIGIL_DEFAULT_MODEL": "motion",
    }
    with streamlit_app(tmp_path / "data", tmp_path / "streamlit.log", env) as url:
        yield url


def fake_camera(y4m: Path) -> list[str]:
    """Chromium flags that feed ``y4m`` to getUserMedia as the camera, without a permission prompt."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}",
        # Real host candidates instead of mDNS names, which aiortc cannot resolve offline.
        "--disable-features=WebRtcHideLocalIpsWithMdns",
    ]


def camera_frame(page):
    """The camera component's frame. While a rerun is under way Streamlit can keep the previous run's component
    beside the new one (CI saw a second, 0-px-high copy once under load): the visible one is the user's."""
    return page.locator("iframe[title*='webrtc']").filter(visible=True).first.content_frame


def start_live(page, url: str) -> None:
    page.goto(f"{url}/live", wait_until="domcontentloaded")
    page.get_by_text("Alert rule").first.wait_for(timeout=60_000)
    start = camera_frame(page).get_by_role("button", name=re.compile("^start$", re.I))
    start.click(timeout=60_000)


def metric(page, label: str) -> float:
    """The number shown in the st.metric whose label is ``label`` (0 when absent)."""
    box = page.locator("[data-testid='stMetric']", has_text=label).first
    if box.count() == 0:
        return 0.0
    m = re.search(r"[-\d.]+", box.locator("[data-testid='stMetricValue']").inner_text())
    return float(m.group()) if m else 0.0


def image_parts(msg: Message) -> list[bytes]:
    return [p.get_payload(decode=True) for p in msg.walk() if p.get_content_maintype() == "image"]


FIGHT_SECONDS: list[float] = []  # how long the fight run took to email; the calm run waits at least that


def test_fight_on_the_camera_emails_an_alert_with_snapshot(clips, app, smtp):
    inbox, _ = smtp
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium(fake_camera(clips["fight"]), viewport=(1400, 1100)) as page:
        start_live(page, app)
        t0 = time.time()
        while time.time() - t0 < 90 and not inbox.messages:
            page.wait_for_timeout(500)
        FIGHT_SECONDS.append(time.time() - t0)
        page.wait_for_timeout(1500)  # let the fragment show "alert raised" for the screenshot
        page.screenshot(path=str(ARTIFACTS / "live-fight-alert.png"), full_page=True)
        fps = metric(page, "Scored fps")
    assert inbox.messages, f"no alert email within 90 s (processed fps on the page: {fps})"
    msg = inbox.messages[0]
    assert msg["Subject"].startswith("Vigil alert: browser camera anomalous for")
    assert msg["To"] == "guard@example.com"
    (jpeg,) = image_parts(msg)
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[1] >= 320  # the peak frame, decodable
    assert len(inbox.messages) == 1  # one episode, a long cooldown: one email


def test_calm_camera_sends_nothing_in_the_same_time(clips, app, smtp):
    inbox, _ = smtp
    wait = max(35.0, (FIGHT_SECONDS[0] if FIGHT_SECONDS else 30.0) + 10.0)
    with chromium(fake_camera(clips["calm"]), viewport=(1400, 1100)) as page:
        start_live(page, app)
        t0, fps_seen = time.time(), []
        while time.time() - t0 < wait:
            page.wait_for_timeout(1000)
            fps_seen.append(metric(page, "Scored fps"))
        page.screenshot(path=str(ARTIFACTS / "live-calm.png"), full_page=True)
        text = page.inner_text("body")
    assert max(fps_seen) >= 5, f"the calm video was not being scored (fps seen: {fps_seen})"
    assert inbox.messages == [], f"calm video raised {len(inbox.messages)} email(s)"
    assert "alert raised" not in text
