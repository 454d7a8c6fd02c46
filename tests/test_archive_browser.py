"""The Archive page in Debian's Chromium at the small window sizes a reviewer uses: metric labels and the
ranking of segments fit without being cut (1024x700 beside the sidebar, and 1280x800), and the batch picker
starts with its date, not with an emoji this browser has no font for. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from browser import chromium, screenshot, streamlit_app
from conftest import moving_square_frames, write_video

from core.batch import collect_videos, run_batch
from core.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# per metric label: the width its text needs and the width it has (Streamlit cuts it with an ellipsis)
LABELS = """() => [...document.querySelectorAll('[data-testid=stMetricLabel] .stMarkdownEllipsis')]
    .map(e => [e.textContent, e.scrollWidth, e.clientWidth])"""
# per table: the width of its columns and the width it is shown in (more scrolls sideways)
TABLES = """() => [...document.querySelectorAll('[data-testid=stDataFrame] .dvn-scroller')]
    .map(e => [e.scrollWidth, e.clientWidth])"""


@pytest.mark.parametrize("viewport", [(1024, 700), (1280, 800)])
def test_metrics_and_ranking_fit_a_small_window(vigil_env, tmp_path, viewport):
    folder = vigil_env / "footage" / "mixed"
    folder.mkdir(parents=True)
    # a long name, as cameras export them: wrapped in the ranking (the screenshot shows it whole), never cut
    name = "parking_lot_north_entrance_camera_02_2026-11-21_08-00.avi"
    write_video(folder / name, moving_square_frames(n=80, fast_from=40, fast_to=56))
    (folder / "notvideo.mp4").write_text("not a video")
    summary = run_batch(collect_videos([str(folder)]), workers=1, store=Store())
    assert (summary.done, summary.failed) == (1, 1)

    with streamlit_app(vigil_env, tmp_path / "streamlit.log") as url, chromium(viewport=viewport) as page:
        page.goto(f"{url}/archive?job={summary.job_id}")
        page.wait_for_selector("[data-testid=stMetric]", timeout=60_000)
        page.wait_for_selector("[data-testid=stDataFrame] .dvn-scroller", timeout=30_000)
        page.wait_for_timeout(1500)  # the grids size their columns after the first paint
        labels = page.evaluate(LABELS)
        tables = page.evaluate(TABLES)
        batch_picker = page.locator("[data-testid=stSelectbox]").filter(has_text="Batch")
        picked = batch_picker.evaluate("e => { const i = e.querySelector('input'); return (i && i.value) || '' }")
        picked = picked or batch_picker.text_content()
        screenshot(page, f"archive-{viewport[0]}x{viewport[1]}.png")

    assert [t for t, _, _ in labels] == ["Scored", "Already stored", "Failed", "Footage", "Throughput"]
    assert all(need <= has for _, need, has in labels), labels  # 'Footage sc…' was cut at 1024 px
    ranking_needs, ranking_has = tables[0]
    assert ranking_needs <= ranking_has, tables  # every column in view, the 'open' link included
    assert picked.removeprefix("Batch")[:4].isdigit(), picked  # the date first: no empty box where '✅' was


def test_a_click_on_a_ranked_segment_opens_history_at_its_moment_with_the_player_in_view(vigil_env, tmp_path):
    """The caption says 'click a row': a click on the video's name selected the cell and opened nothing, and the
    tick box that did open it landed at the top of History, the player a screen and a half down."""
    folder = vigil_env / "footage" / "yard"
    folder.mkdir(parents=True)
    write_video(folder / "burst.avi", moving_square_frames(n=80, fast_from=40, fast_to=56))
    summary = run_batch(collect_videos([str(folder)]), workers=1, store=Store())
    assert summary.done == 1
    with streamlit_app(vigil_env, tmp_path / "streamlit.log") as url, chromium(viewport=(1280, 800)) as page:
        page.goto(f"{url}/archive?job={summary.job_id}")
        page.wait_for_selector("[data-testid=stDataFrame] .dvn-scroller", timeout=60_000)
        page.wait_for_timeout(1500)
        ranking = page.locator("[data-testid=stDataFrame]").first
        ranking.scroll_into_view_if_needed()
        box = ranking.bounding_box()
        row_y = box["y"] + 35 + 38
        with page.context.expect_page(timeout=15_000) as tab:  # the 'play' link: a new tab, this one stays
            page.get_by_text("Click a row").hover()  # leave the grid, so the next move onto the link is fresh
            page.mouse.move(box["x"] + 0.2 * box["width"], row_y)
            page.wait_for_timeout(300)
            page.mouse.click(box["x"] + 0.2 * box["width"], row_y)
        assert "/history?id=" in tab.value.url and "t=" in tab.value.url
        tab.value.close()
        page.wait_for_timeout(2500)
        assert "/archive" in page.url
        # the video's name in the first ranked row (its columns stretch to the page: past the 'play' link)
        page.mouse.click(box["x"] + 0.35 * box["width"], row_y)
        page.get_by_text("Selected moment").wait_for(timeout=60_000)
        assert "/history?id=" in page.url
        page.wait_for_timeout(3000)  # the scroll waits for the player and follows the chart's drawing
        in_view = page.evaluate(
            """() => { const r = document.querySelector('video[data-testid="stVideo"]').getBoundingClientRect();
                       return r.top >= 0 && r.bottom <= window.innerHeight }"""
        )
        screenshot(page, "archive-open-moment.png")
        assert in_view
