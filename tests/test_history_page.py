"""History's table ticks the analysis shown below it, whatever rows arrive meanwhile (a comparison, an Analyze run
in another tab), and shows its decisive columns first, as the results show them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.engine import analyze
from core.store import Store

REPO = Path(__file__).resolve().parent.parent


def history() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page("app_pages/history.py")
    return at


def analyses_table(at: AppTest):
    """History's analyses table (the first dataframe; the open analysis's segment table comes after it)."""
    table = at.dataframe[0]
    assert "source" in table.value.columns
    return table


def table_key(at: AppTest) -> str:
    """The user key of the analyses table, as Streamlit builds its element id: '$$ID-<hash>-<key>'."""
    return analyses_table(at).proto.id.split("-", 2)[2]


def ticked(at: AppTest) -> list[int]:
    """The row numbers the analyses table marks selected (what the browser draws ticked)."""
    return list(at.session_state[table_key(at)]["selection"]["rows"])


def click(at: AppTest, row: int) -> AppTest:
    """The user ticks one row of the analyses table."""
    at.session_state[table_key(at)] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


@pytest.fixture
def video(make_video) -> Path:
    return make_video("yard.avi", n=80, fast_from=40, fast_to=56)


def store_another(video: Path):
    """One more analysis of the video, as a comparison or an Analyze run stores it: listed newest first (created_at
    counts whole seconds, so wait past this one for the order to be certain)."""
    time.sleep(1.05)
    return analyze(video, model="motion", store=Store(), reuse=False)


def row_of(analysis_id: str) -> int:
    return [r["id"] for r in Store().list()].index(analysis_id)


def test_a_comparison_stored_while_an_analysis_is_open_does_not_move_the_tick(video):
    first = analyze(video, model="motion", store=Store(), reuse=False)
    at = history()
    at.run()
    click(at, 0)
    assert at.session_state["history.open"] == first.id and ticked(at) == [0]
    second = store_another(video)  # as "Compare with another model" stores it: on top
    at.run()
    assert not at.exception, at.exception
    assert row_of(second.id) == 0 and row_of(first.id) == 1
    assert at.session_state["history.open"] == first.id  # shown below
    assert ticked(at) == [1]  # and ticked above: the first analysis's row, not the new one that took row 0
    assert at.query_params["id"] == first.id


def test_rows_arriving_in_another_tab_keep_the_tick_and_a_new_click_still_opens_its_row(video):
    old = analyze(video, model="motion", store=Store(), reuse=False)
    newer = store_another(video)
    at = history()
    at.run()
    click(at, 1)  # the older analysis, second row
    assert at.session_state["history.open"] == old.id and ticked(at) == [1]
    for n in (2, 3):  # two Analyze runs end in another tab, each pushing it one row down
        store_another(video)
        at.run()
        assert row_of(old.id) == n and ticked(at) == [n]
        assert at.session_state["history.open"] == old.id
    click(at, row_of(newer.id))  # a real click after that still opens the row clicked
    assert at.session_state["history.open"] == newer.id and ticked(at) == [row_of(newer.id)] == [2]


def test_back_from_another_page_the_open_analysis_is_ticked(video):
    first = analyze(video, model="motion", store=Store(), reuse=False)
    store_another(video)
    at = history()
    at.query_params["id"] = first.id  # a deep link (the Archive ranking) or the page visited again
    at.run()
    assert at.session_state["history.open"] == first.id and ticked(at) == [1]


def test_the_table_leads_with_name_when_model_peak_segments_and_percent_anomalous(video):
    rec = analyze(video, model="motion", store=Store(), reuse=False)
    at = history()
    at.run()
    table = analyses_table(at)
    first = ["source", "date", "model", "peak", "segments", "anomalous"]
    assert list(table.value.columns)[:6] == first
    assert table.value["anomalous"][0] == pytest.approx(100 * rec.frac_anomalous)  # a percent, not a fraction
    config = json.loads(table.proto.columns)
    assert config["anomalous"]["type_config"]["format"] == "%.0f%%"  # "27%", as the results' metric says it
    # narrow enough that all six fit in the 1024 px layout's 553 px table beside its 33 px tick column (the walk
    # saw only "pea" of the peak header when it came sixth after 490 px of columns)
    assert sum(config[c]["width"] for c in first) <= 553 - 33


def test_a_click_on_the_rows_as_drawn_before_new_ones_arrived_opens_the_row_clicked(video):
    """Another tab stores an analysis; this tab, not yet redrawn, still shows the old rows, and the user ticks one:
    the click means the analysis drawn there, not the one that has moved into that row number since."""
    old = analyze(video, model="motion", store=Store(), reuse=False)
    newer = store_another(video)
    at = history()
    at.run()
    click(at, 0)
    assert at.session_state["history.open"] == newer.id
    drawn = table_key(at)
    store_another(video)  # stored in another tab: 'old' is now row 2, row 1 is 'newer'
    at.session_state[drawn] = {"selection": {"rows": [1], "columns": [], "cells": []}}  # a click on 'old' as drawn
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["history.open"] == old.id and ticked(at) == [row_of(old.id)] == [2]


def test_the_peak_reads_as_the_results_print_it(video):
    """0.73514 was rounded to 0.735 and then drawn '%.2f' by the browser as 0.73, while the results said 0.74."""
    rec = analyze(video, model="motion", store=Store(), reuse=False)
    with Store().db.connect() as con:
        con.execute("UPDATE analyses SET peak = 0.73514 WHERE id = ?", (rec.id,))
    at = history()
    at.run()
    table = analyses_table(at)
    assert list(table.value["peak"]) == [0.74] == [float(f"{0.73514:.2f}")]
    assert json.loads(table.proto.columns)["peak"]["type_config"]["format"] == "%.2f"


@pytest.mark.parametrize(
    ("selection", "skip", "after"),
    [
        ({"rows": [1], "cells": [(2, "source")]}, (), {"rows": [2], "cells": []}),  # a cell click ticks its row
        ({"rows": [], "cells": [(0, "peak")]}, (), {"rows": [0], "cells": []}),
        ({"rows": [1], "cells": [(2, "open")]}, ("open",), {"rows": [1], "cells": []}),  # a link: opens a tab only
        ({"rows": [3], "cells": []}, (), None),  # the tick box itself: as clicked
        ({"rows": [], "columns": [], "cells": []}, (), None),  # unticked
    ],
)
def test_a_click_on_any_cell_opens_its_row(selection, skip, after):
    """Streamlit's single-row mode selects a row only through its tick box; a cell click there selected the cell
    and opened nothing, though the caption says 'click a row to open it'."""
    from ui.state import ROW_CLICK_MODES, cell_as_row

    assert set(ROW_CLICK_MODES) == {"single-row", "single-cell"}
    assert cell_as_row({"selection": selection}, skip) == ({"selection": after} if after else None)


def test_the_table_takes_cell_clicks_and_delete_comes_after_the_results(video):
    rec = analyze(video, model="motion", store=Store(), reuse=False)
    at = history()
    at.query_params["id"] = rec.id
    at.run()
    assert not at.exception, at.exception
    # a row (its tick box) and a cell (anywhere else in the row); 0 and 4 are the proto's SINGLE_ROW, SINGLE_CELL
    assert sorted(analyses_table(at).proto.selection_mode) == [0, 4]
    # the destructive control is not the first thing under the table: it comes last, after the results' exports
    tab = next(t for t in at.tabs if t.label == "Analyses")
    kinds = [c.type for c in tab.children.values()]
    assert kinds[-1] == "popover" and kinds.index("subheader") < kinds.index("popover")
    assert kinds.index("dataframe") + 2 == kinds.index("subheader")  # table, its caption, then the results' title


def test_when_is_shown_in_the_viewers_zone_as_the_results_header_is(video, monkeypatch):
    """The results header said 'Nov 21, 23:27' (local) above a History row saying 22:27 (UTC)."""
    import time as _time

    from ui.results import when_text

    rec = analyze(video, model="motion", store=Store(), reuse=False)
    with Store().db.connect() as con:
        con.execute("UPDATE analyses SET created_at = '2026-11-21T22:27:00+00:00' WHERE id = ?", (rec.id,))
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # no browser in AppTest: the server's zone stands in for the viewer's
    _time.tzset()
    try:
        at = history()
        at.run()
        when = analyses_table(at).value["date"][0]
        assert (when.day, when.hour, when.minute) == (22, 7, 27)  # 22:27 UTC is 07:27 next day in Tokyo
        assert when_text("2026-11-21T22:27:00+00:00") == "Nov 22, 07:27"
    finally:
        monkeypatch.delenv("TZ")
        _time.tzset()


def test_the_segments_table_prints_the_peak_as_the_metrics_and_a_cell_click_picks_its_segment(video):
    """The segments table said 0.735 under a 'Peak score 0.74' metric; and only its tick box picked a segment."""
    rec = analyze(video, model="motion", store=Store(), reuse=False)
    assert rec.segments
    with Store().db.connect() as con:
        con.execute("UPDATE segments SET peak = 0.73514 WHERE analysis_id = ? AND idx = 0", (rec.id,))
    at = history()
    at.query_params["id"] = rec.id
    at.run()
    assert not at.exception, at.exception
    segs = next(df for df in at.dataframe if "peak at" in df.value.columns)
    assert segs.value["peak"][0] == 0.74
    assert json.loads(segs.proto.columns)["peak"]["type_config"]["format"] == "%.2f"
    assert sorted(segs.proto.selection_mode) == [0, 4]  # single-row and single-cell, as History's own table
