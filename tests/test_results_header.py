"""The results header: when the analysis was made, in the viewer's time, as History writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.engine import analyze
from core.store import Store
from ui.results import when_text

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_the_time_is_short_local_and_dated_like_history():
    assert when_text("2026-11-21T22:27:01+00:00", "UTC", NOW) == "Nov 21, 22:27"  # was "2026-11-21 22:27:01+00:00"
    assert when_text("2026-11-21T22:27:01+00:00", "Europe/Berlin", NOW) == "Nov 21, 23:27"  # the viewer's zone
    assert when_text("2026-12-31T23:30:00+00:00", "Asia/Tokyo", NOW) == "Jan 1, 2027, 08:30"  # another year: said
    assert when_text("2025-03-04T05:06:00+00:00", "UTC", NOW) == "Mar 4, 2025, 05:06"
    assert when_text("2026-11-21T22:27:01", "UTC", NOW) == "Nov 21, 22:27"  # no offset: stored in UTC
    # a zone the browser names but this server does not know: the server's zone, never an error
    assert when_text("2026-11-21T22:27:01+00:00", "Nowhere/Else", NOW).startswith("Nov ")


def test_the_results_header_shows_the_readable_time(make_video):
    rec = analyze(make_video("yard.avi", n=40), model="motion", store=Store())
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page("app_pages/history.py")
    at.query_params["id"] = rec.id
    at.run()
    assert not at.exception
    header = next(c.value for c in at.caption if c.value.startswith("Model **motion"))
    assert f"analysed {when_text(rec.created_at)} ·" in header and "+00:00" not in header, header
