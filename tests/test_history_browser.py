"""History in a real browser: what a row click, a delete and a visit to another page leave on screen.

Streamlit keeps a table's selection as a row number and forgets a page's widgets when the user leaves it; these
are what only a browser shows (AppTest cannot click a table row).
"""

from __future__ import annotations

import time

import pytest
from browser import chromium, screenshot, streamlit_app

from core.db import Database
from core.engine import analyze
from core.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def click_row(page, k: int) -> None:
    """Tick row ``k`` (0 = top) of the History table: the grid is a canvas, so click its row-marker column."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 16, box["y"] + 35 + 18 + 35 * k)


def opened(page) -> str:
    """The name of the analysis open under the table ("" when none), once the page has settled."""
    time.sleep(2.5)  # the rerun the click starts
    heads = page.locator('[data-testid="stHeading"] h3').all_inner_texts()
    return heads[0].strip() if heads else ""


def threshold(page) -> str:
    box = page.locator('[data-testid="stSlider"]').filter(has_text="Threshold").first
    return box.locator('[data-testid="stSliderThumbValue"]').inner_text().strip()


def test_delete_leaves_no_ghost_selection_and_the_open_analysis_survives_another_page(make_video, tmp_path):
    store = Store()
    for i, name in enumerate(("first.avi", "second.avi", "third.avi")):
        analyze(make_video(name, n=40, seed=i), model="motion", store=store)
        time.sleep(1.1)  # distinct creation seconds: the table is newest first
    with streamlit_app(Database().path.parent, tmp_path / "st.log") as url, chromium(viewport=(1280, 900)) as page:
        page.goto(f"{url}/history", wait_until="domcontentloaded")
        page.get_by_text("click a row").wait_for(timeout=60_000)
        time.sleep(1)
        click_row(page, 0)
        assert opened(page) == "third.avi"
        page.get_by_text("Delete this analysis").click()
        page.get_by_role("button", name="Delete", exact=True).click()
        page.get_by_text("2 analyses").wait_for(timeout=30_000)
        assert opened(page) == ""  # nothing open, and no row looks ticked: one click opens the row that moved up
        click_row(page, 0)
        assert opened(page) == "second.avi"

        # an analyst lowers the threshold, looks at Analyze, comes back: the same analysis, the same threshold
        slider = page.locator('[data-testid="stSlider"]').filter(has_text="Threshold").first.get_by_role("slider")
        slider.focus()
        for _ in range(5):
            slider.press("ArrowLeft")
        time.sleep(2)
        assert threshold(page) == "0.45"
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Analyze").click()
        page.get_by_text("Analyze a video").first.wait_for(timeout=30_000)
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="History").click()
        page.get_by_text("click a row").wait_for(timeout=30_000)
        assert opened(page) == "second.avi"
        assert threshold(page) == "0.45"
        screenshot(page, "history_after_delete_and_back.png")


IN_VIEW = """(sel) => { const e = document.querySelector(sel); if (!e) return null;
    const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight }"""


def click_cell(page, k: int, x: int = 110) -> None:
    """Click the cell ``x`` px into row ``k`` (0 = top) of the first table: the file name, not the tick box."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + 35 + 18 + 35 * k)


def test_a_click_on_a_cell_opens_its_row_and_a_moment_link_lands_on_the_player(make_video, tmp_path):
    """The caption says 'click a row to open it': a click on the file name opened nothing (only the tick box at the
    far left did). A link to a moment (Archive's ranking) left the player a screen and a half down."""
    store = Store()
    for i, name in enumerate(("first.avi", "second.avi")):
        analyze(make_video(name, n=80, fast_from=40, fast_to=56, seed=i), model="motion", store=store)
        time.sleep(1.1)  # newest first
    first = next(r["id"] for r in store.list() if r["source_name"] == "first.avi")
    with streamlit_app(Database().path.parent, tmp_path / "st.log") as url, chromium(viewport=(1280, 800)) as page:
        page.goto(f"{url}/history", wait_until="domcontentloaded")
        page.get_by_text("click a row").wait_for(timeout=60_000)
        time.sleep(1)
        click_cell(page, 1)  # the name 'first.avi'
        assert opened(page) == "first.avi"
        assert f"id={first}" in page.url
        click_cell(page, 0, x=400)  # the model column of 'second.avi'
        assert opened(page) == "second.avi"
        # the tick follows the click (the screenshot shows the open row ticked, and no cell frame)
        screenshot(page, "history_cell_click.png")

        page.goto(f"{url}/history?id={first}&t=4.80", wait_until="domcontentloaded")
        page.get_by_text("Selected moment 0:04.8").wait_for(timeout=60_000)
        time.sleep(3)  # the scroll waits for the player and follows the chart's drawing
        assert page.evaluate(IN_VIEW, 'video[data-testid="stVideo"]') is True
        screenshot(page, "history_moment_link.png")


def test_switching_pages_while_an_analysis_runs_never_leaves_a_blank_page(make_video, tmp_path):
    """Walk 5: with fast reruns off (tried against a rare rule-change race), a visit to History while an upload was
    being analysed left a white page with no error (2 of 2 probes on a loaded machine; a quiet one did not show it,
    so this guards the symptom rather than proving the cause). Each hop must show its page within 7 s and no sample
    in between may be empty."""
    clip = make_video("long.mp4", n=1500, size=(360, 480))
    with streamlit_app(tmp_path / "data", tmp_path / "st.log") as url, chromium(viewport=(1280, 800)) as page:
        page.goto(f"{url}/analyze", wait_until="domcontentloaded")
        page.get_by_text("Analyze a video").first.wait_for(timeout=60_000)
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(clip))
        page.get_by_role("button", name="Analyze upload").click()
        page.locator('[data-testid="stProgress"]').first.wait_for(timeout=30_000)
        for name, shows in (("History", "History"), ("Analyze", "Analyze a video"), ("History", "History")):
            page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name).click()
            shortest = 10_000
            for _ in range(10):
                page.wait_for_timeout(700)
                text = page.evaluate("() => (document.querySelector('#root') || {}).innerText || ''")
                shortest = min(shortest, len(text.strip()))
            assert shortest >= 20, f"a blank page after the switch to {name}"
            assert page.get_by_text(shows).first.is_visible(), f"{name} did not show"
