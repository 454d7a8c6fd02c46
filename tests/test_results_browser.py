"""The results view in Debian's Chromium at a laptop's window sizes: a portrait video's player fits the window
(at the column's width a 360x640 video was taller than it). Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from browser import chromium, screenshot, streamlit_app

from core.db import Database
from core.engine import analyze
from core.store import Store
from ui.results import PLAYER_MAX_HEIGHT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PLAYER = """() => { const v = document.querySelector('video[data-testid="stVideo"]');
    const r = v.getBoundingClientRect(); return [r.width, r.height, v.videoWidth, v.videoHeight] }"""


@pytest.mark.parametrize("viewport", [(1024, 700), (1280, 800)])
def test_a_portrait_videos_player_fits_a_laptop_window(make_video, tmp_path, viewport):
    rec = analyze(make_video("portrait.avi", n=40, size=(640, 360)), model="motion", store=Store())
    with streamlit_app(Database().path.parent, tmp_path / "st.log") as url, chromium(viewport=viewport) as page:
        page.goto(f"{url}/history?id={rec.id}", wait_until="domcontentloaded")
        page.locator('video[data-testid="stVideo"]').wait_for(timeout=90_000)
        # the box takes the video's shape once its metadata is in
        page.wait_for_function("() => document.querySelector('video').readyState >= 1", timeout=30_000)
        page.wait_for_timeout(1000)
        width, height, video_w, video_h = page.evaluate(PLAYER)
        screenshot(page, f"results-portrait-{viewport[0]}x{viewport[1]}.png")
    assert (video_w, video_h) == (360, 640)
    assert height <= PLAYER_MAX_HEIGHT + 1 < viewport[1], (width, height)  # it was 861 px tall at 1280x800
    assert width == pytest.approx(height * 360 / 640, abs=2)


def test_the_annotated_clip_downloads_on_one_click_like_the_other_exports(make_video, tmp_path):
    """It took two clicks (make it, then "Download clip"): now the clip is made when the button is clicked and
    arrives as a download of that click, the button spinning meanwhile."""
    import av

    rec = analyze(make_video("yard.avi", n=80, fast_from=40, fast_to=56), model="motion", store=Store())
    assert rec.segments
    with streamlit_app(Database().path.parent, tmp_path / "st.log") as url, chromium() as page:
        page.goto(f"{url}/history?id={rec.id}", wait_until="domcontentloaded")
        button = page.get_by_role("button", name="Annotated clip")
        button.wait_for(timeout=90_000)
        with page.expect_download(timeout=60_000) as dl:
            button.click()
        assert dl.value.failure() is None and dl.value.suggested_filename == "yard_worst_segment.mp4"
        with av.open(dl.value.path()) as c:
            assert c.streams.video[0].codec_context.name == "h264" and c.streams.video[0].frames != 1
        assert page.get_by_role("button", name="Download clip").count() == 0  # no second step
        # a second click downloads the same clip again, without making it anew
        with page.expect_download(timeout=30_000) as again:
            button.click()
        assert again.value.failure() is None
        screenshot(page, "results-clip-downloaded.png")


def test_the_helper_frames_under_the_player_draw_nothing_and_still_seek(make_video, tmp_path):
    """The seek and scroll helpers are 1 px iframes: their scrollbar drew a dash under the player. Once their script
    has run they are 0 px tall without a border, and the deep link's moment is still where the player is cued."""
    rec = analyze(make_video("yard.avi", n=80, fast_from=40, fast_to=56), model="motion", store=Store())
    with streamlit_app(Database().path.parent, tmp_path / "st.log") as url, chromium(viewport=(1024, 768)) as page:
        page.goto(f"{url}/history?id={rec.id}&t=2.5", wait_until="domcontentloaded")
        page.locator('video[data-testid="stVideo"]').wait_for(timeout=90_000)
        page.wait_for_function("() => document.querySelector('video').currentTime > 2.4", timeout=30_000)
        page.wait_for_timeout(1500)
        frames = page.evaluate(
            """() => [...document.querySelectorAll('iframe[data-testid="stIFrame"]')].map(f => {
                const d = f.contentDocument.documentElement;
                return [f.getBoundingClientRect().height, getComputedStyle(f).borderTopWidth,
                        d.scrollHeight > d.clientHeight && getComputedStyle(d).overflow !== "hidden"] })"""
        )
        t = page.evaluate("() => document.querySelector('video').currentTime")
        screenshot(page, "results-helper-frames.png")
    assert len(frames) == 2, frames  # the seek (results) and the scroll to the moment (History's deep link)
    assert all(h == 0 and border == "0px" and not scrolls for h, border, scrolls in frames), frames
    assert t == pytest.approx(2.5, abs=0.05)
