"""A server restart mid-analysis, in a real browser: the server process is killed by its pid while an upload is
being scored; after it starts again, Analyze and History tell the user, and Run again runs the analysis anew to
its stored results."""

from __future__ import annotations

import pytest
from browser import chromium, screenshot, start_streamlit, stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_analysis_killed_by_a_server_restart_is_told_and_runs_again(tmp_path):
    from conftest import moving_square_frames

    from core.db import Database
    from core.media import encode_h264
    from core.running import RunningAnalyses

    # 3 minutes of 10 fps video: still being scored when the server is killed, on any machine
    clip = encode_h264((f for b in range(6) for f in moving_square_frames(n=300, seed=b)), tmp_path / "long.mp4", 10)
    data, log = tmp_path / "data", tmp_path / "st.log"
    server, url = start_streamlit(data, log)
    try:
        with chromium() as page:
            page.goto(f"{url}/analyze", wait_until="domcontentloaded")
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(clip))
            page.get_by_role("button", name="Analyze upload").click()
            page.get_by_text("frames/s").first.wait_for(timeout=60_000)  # scoring has started
            runs = RunningAnalyses(Database(data / "vigil.sqlite"))
            for _ in range(60):  # its progress is written every ui.jobs.RECORD_EVERY_S
                if runs.of_owner("")[0].fraction > 0:
                    break
                page.wait_for_timeout(500)
            server.kill()  # a crash: no shutdown code runs
            server.wait()
            (run,) = runs.interrupted("")
            assert run.request.label == "long.mp4" and run.request.upload and 0 < run.fraction < 1
            server, url = start_streamlit(data, log)
            page.goto(f"{url}/analyze", wait_until="domcontentloaded")
            told = f"The analysis of long.mp4 was interrupted by a server restart at {run.fraction * 100:.0f} %."
            note = page.get_by_text(told)
            note.wait_for(timeout=60_000)
            screenshot(page, "analyze_interrupted.png")
            page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="History").click()
            note.wait_for(timeout=30_000)  # History says it too
            page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Analyze").click()
            page.get_by_text("Analyze a video").first.wait_for(timeout=30_000)  # not History's Run again
            page.get_by_role("button", name="Run again").click()
            bar = page.locator('[data-testid="stProgress"]').filter(has_text="long.mp4")
            bar.first.wait_for(timeout=60_000)  # running again, with progress and Cancel as any analysis
            assert note.count() == 0 and page.get_by_role("button", name="Cancel").count() == 1
            page.get_by_role("heading", name="long.mp4").wait_for(timeout=120_000)  # it ends: its results open
            assert "Traceback" not in page.content()
    finally:
        stop(server)
    from core.store import Store

    assert RunningAnalyses(Database(data / "vigil.sqlite")).of_owner("") == []  # ended: no record is left
    assert [r["source_name"] for r in Store(Database(data / "vigil.sqlite")).list()] == ["long.mp4"]
