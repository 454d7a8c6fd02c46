"""AppTest for the pages: they render, History shows what the store holds, controls re-cut segments,
bad input shows st.error and the page stays usable, and sessions never see each other's results."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import http_server, moving_square_frames, write_video
from streamlit.testing.v1 import AppTest

from core.config import EventConfig
from core.engine import analyze
from core.store import Store
from ui.charts import mmss

REPO = Path(__file__).resolve().parent.parent
PAGES = ["home", "analyze", "history", "live", "label", "archive"]


def page(name: str) -> AppTest:
    """The app through its router (so page links resolve), switched to one page before the first run."""
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page(f"app_pages/{name}.py")
    return at


def elements(at: AppTest, kind: str) -> list:
    out = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if getattr(child, "type", None) == kind:
                out.append(child)
            walk(child)

    walk(at.main)
    return out


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_without_exception(name):
    at = page(name)
    at.run()
    assert not at.exception, at.exception
    assert at.title and at.title[0].value


@pytest.fixture
def stored(make_video):
    """One stored analysis with an obvious anomaly (fast motion in frames 40..55 of 80)."""
    return analyze(make_video("yard.avi", n=80, fast_from=40, fast_to=56), model="motion", store=Store())


def chart_data(chart) -> list[pd.DataFrame]:
    """The tables a rendered Altair chart plots (Streamlit ships them beside the spec as Arrow)."""
    return [pa.ipc.open_stream(ds.data.data).read_pandas() for ds in chart.proto.datasets]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_an_analysis_deleted_in_another_tab_closes_with_a_note_not_an_error(stored):
    at = page("history")
    at.query_params["id"] = stored.id
    at.run()
    assert at.subheader[0].value == "yard.avi"
    Store().delete(stored.id)  # another tab, or another user
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("has been deleted" in i.value for i in at.info) and not at.subheader
    assert "id" not in at.query_params
    assert not any(p.label == "Delete this analysis" for p in at.get("popover"))


def test_history_lists_and_opens_a_stored_analysis_with_values_from_the_store(stored):
    at = page("history")
    at.run()
    table = at.dataframe[0].value
    assert list(table["source"]) == ["yard.avi"] and int(table["segments"][0]) == len(stored.segments)
    assert list(table["fps"]) == [stored.scoring.fps]  # the rate it was scored at tells two analyses apart
    assert list(table["model"]) == ["motion"] and list(table["version"]) == [stored.model_version]
    assert any(c.value.startswith("1 analysis ·") for c in at.caption)
    at.query_params["id"] = stored.id
    at.run()
    assert not at.exception
    assert at.subheader[0].value == "yard.avi"
    assert any(e.label == "Compare with another model" for e in at.expander)  # as on Analyze
    assert metric(at, "Segments") == str(len(stored.segments))
    peak, peak_t = stored.peak
    assert metric(at, "Peak score") == f"{peak:.2f}"
    chart = elements(at, "vega_lite_chart")
    assert len(chart) == 1
    data = chart_data(chart[0])
    line = next(d for d in data if "score" in d.columns)  # the plotted track is the stored one
    np.testing.assert_allclose(line["score"], stored.track.score)
    np.testing.assert_allclose(line["smoothed"], stored.track.smoothed)
    bands = next(d for d in data if "start" in d.columns)  # the shaded segments are the stored ones
    assert list(zip(bands["start"], bands["end"], strict=True)) == [(s.start, s.end) for s in stored.segments]
    assert next(d for d in data if list(d.columns) == ["y"])["y"].tolist() == [stored.events.threshold]
    segs = at.dataframe[1].value  # the segments table of the results view
    assert len(segs) == len(stored.segments)
    assert list(segs["peak"]) == [round(s.peak, 2) for s in stored.segments]  # as the metrics print it


def test_threshold_change_resegments_from_stored_scores_as_the_engine_says(stored):
    at = page("history")
    at.query_params["id"] = stored.id
    at.run()
    for thr in (0.9, 0.3, 0.1):
        at.slider(key=f"history.{stored.id}.thr").set_value(thr).run()
        expected = stored.resegment(EventConfig(threshold=thr, hysteresis=min(0.1, thr)))
        assert metric(at, "Segments") == str(len(expected.segments)), thr
    # a low threshold gives at least as many segments as a high one, and differs from it here
    counts = {}
    for thr in (0.95, 0.05):
        at.slider(key=f"history.{stored.id}.thr").set_value(thr).run()
        counts[thr] = int(metric(at, "Segments"))
    assert counts[0.05] != counts[0.95]


def backtest_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown if "would have raised" in m.value)


def test_backtest_counts_emails_the_live_rule_would_send(stored, monkeypatch):
    from core.alerts import AlertConfig, backtest

    monkeypatch.setenv("VIGIL_ALERT_SECONDS", "1.5")  # the settings' rule, not the code's defaults
    at = page("history")
    at.query_params["id"] = stored.id
    at.run()
    cfg = AlertConfig.from_env()
    assert (cfg.threshold, cfg.seconds) == (0.6, 1.5)
    assert at.slider(key=f"history.{stored.id}.bt_thr").value == 0.6
    expected = sum(a.kind == "alert" for a in backtest(stored.track, cfg))
    assert f"**{expected} alert(s)**" in backtest_text(at)


def test_backtest_starts_from_the_rule_set_on_the_live_page(stored):
    """The Live page's threshold and N (kept for the session) are the backtest's, not the results' 0.5 line."""
    from core.alerts import AlertConfig, backtest

    def alerts(**rule) -> int:
        return sum(a.kind == "alert" for a in backtest(stored.track, AlertConfig().with_threshold(**rule)))

    assert alerts(threshold=0.15, seconds=0.5) != alerts(threshold=0.5, seconds=AlertConfig().seconds)
    at = page("live")
    at.run()
    at.slider(key="live-thr").set_value(0.15)
    at.number_input(key="live-n").set_value(0.5)
    at.run()
    at.switch_page("app_pages/history.py")
    at.query_params["id"] = stored.id
    at.run()
    assert not at.exception, at.exception
    assert at.slider(key=f"history.{stored.id}.bt_thr").value == 0.15
    assert at.slider(key=f"history.{stored.id}.bt_n").value == 0.5
    assert f"**{alerts(threshold=0.15, seconds=0.5)} alert(s)**" in backtest_text(at)


def test_backtest_starts_from_the_running_server_source_s_rule_when_live_was_not_set(stored, vtest):
    """A session that never set Live's controls (a new tab on History) while the user's server source runs: the
    backtest starts from the rule that source runs with (the newest of several), named in its caption."""
    from test_live import ScriptedScorer

    from core.alerts import AlertConfig
    from core.live import LiveProcessor, ServerSource

    def source(**rule) -> ServerSource:
        proc = LiveProcessor(ScriptedScorer(), "scripted v1", AlertConfig().with_threshold(**rule))
        return ServerSource(str(vtest), proc, loop=True).start()

    older = source(threshold=0.3, seconds=4.0, cooldown=90.0)
    try:
        at = page("history")
        at.query_params["id"] = stored.id
        at.run()
        assert not at.exception, at.exception
        assert at.slider(key=f"history.{stored.id}.bt_thr").value == 0.3
        assert at.slider(key=f"history.{stored.id}.bt_n").value == 4.0
        assert at.slider(key=f"history.{stored.id}.bt_cd").value == 90.0
        assert any(
            c.value.startswith("Starts from the rule of your running server source vtest.avi (threshold 0.30")
            for c in at.caption
        ), [c.value for c in at.caption]
        newer = source(threshold=0.15, seconds=0.5, cooldown=30.0)
        try:
            at = page("history")
            at.query_params["id"] = stored.id
            at.run()
            assert at.slider(key=f"history.{stored.id}.bt_thr").value == 0.15
            assert at.slider(key=f"history.{stored.id}.bt_n").value == 0.5
            (caption,) = [c.value for c in at.caption if c.value.startswith("Starts from")]
            assert caption.startswith(
                "Starts from the rule of vtest.avi, the most recently started of your 2 running server sources "
                "(threshold 0.15, alert after 0.5 s, cooldown 30 s"
            ), caption
            # once this session sets Live's controls, they are the backtest's
            at.switch_page("app_pages/live.py").run()
            at.radio(key="live-kind").set_value("Server stream or file").run()
            at.slider(key="live-thr").set_value(0.4).run()
            at.switch_page("app_pages/history.py")
            at.query_params["id"] = stored.id
            at.run()
            assert at.slider(key=f"history.{stored.id}.bt_thr").value == 0.4
            assert any(c.value.startswith("Starts from your Live rule (threshold 0.40") for c in at.caption)
        finally:
            newer.stop()
    finally:
        older.stop()


def test_delete_from_history_removes_rows_and_files_and_says_so_by_name(stored):
    """The popover names the analysis as the list does (name, when, model; not its internal id), and a toast
    confirms the delete once."""
    from ui.results import when_text

    at = page("history")
    at.query_params["id"] = stored.id
    at.run()
    when = when_text(stored.created_at)
    asked = [m.value for m in at.markdown if "are removed" in m.value]
    assert asked == [
        f"**yard.avi**, analysed {when} with motion: its scores, segments and thumbnails are removed. The video file "
        "is kept."
    ]
    assert stored.id not in asked[0]
    at.button(key="history.delete").click().run()
    assert not at.exception
    assert Store().list() == []
    assert not stored.files_dir.exists()
    assert [t.value for t in at.toast] == [f"Deleted yard.avi ({when})."]
    at.run()
    assert not at.toast  # once


# --- analyze page: bad input through the page --------------------------------------------------------
@pytest.fixture
def site(tmp_path, make_video):
    root = tmp_path / "site"
    root.mkdir()
    for name, seed in (("a.mp4", 1), ("b.mp4", 2)):
        (root / name).write_bytes(make_video(name, n=40, seed=seed).read_bytes())
    (root / "page.html").write_text("<html><body>nothing to see</body></html>")

    with http_server(root) as url:
        yield url


def settle(at: AppTest, timeout: float = 120.0) -> AppTest:
    """Analyses run as server jobs: rerun the page (as its poll does in a browser) until none is left to collect."""
    from ui.cache import job_registry

    deadline = time.monotonic() + timeout
    while job_registry().jobs(""):  # the local user (no login): owner ""
        assert time.monotonic() < deadline, "the analysis did not finish"
        time.sleep(0.2)
        at.run()
    return at


def analyze_link(at: AppTest, url: str) -> AppTest:
    # the link box is a form: what was typed is sent with the submit (button or Enter), in one run
    at.text_input(key="analyze.url").set_value(url)
    at.button(key="analyze.go_link").click()
    return settle(at.run())


@pytest.mark.parametrize(
    "url, message",
    [
        ("file:///etc/passwd", "local file"),
        ("/home/me/video.mp4", "local file"),
        ("ftp://example.org/v.mp4", "http:// or https://"),
        ("{site}/page.html", "No video found"),
        ("{site}/missing.mp4", "404"),
        # loopback, not on the allow-list: what to try next, nothing of the network
        ("http://127.0.0.1:9/clip.mp4", "Could not fetch this link. Check that it opens in a browser, is public"),
        ("http://169.254.169.254/latest/meta-data/", "Could not fetch this link. Check that it opens in a browser"),
    ],
)
def test_bad_links_show_an_error_and_the_page_stays_usable(site, url, message):
    at = page("analyze")
    at.run()
    analyze_link(at, url.format(site=site))
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    # under the error, a hint that does not ask for what was just done as if nothing had happened
    assert not any(i.value.startswith("Upload a video or paste a link") for i in at.info)
    assert any(i.value.startswith("Pick another video or link (or fix this one)") for i in at.info)
    assert Store().list() == []
    assert "Cancel" not in [b.label for b in at.button]  # nothing is running any more
    analyze_link(at, f"{site}/a.mp4")  # the next try works
    assert not at.exception and not at.error
    assert at.subheader[0].value == f"{site}/a.mp4"
    assert "Cancel" not in [b.label for b in at.button]  # finished results carry no Cancel button
    # a bad link after good results: its error, and not the previous video's results under it
    analyze_link(at, f"{site}/missing.mp4")
    assert any("404" in e.value for e in at.error) and not at.subheader and not at.metric
    analyze_link(at, "   ")  # an empty submit (Enter in an empty box): a hint, nothing run
    assert any("Paste a link first" in w.value for w in at.warning) and not at.error


def test_a_reused_analysis_opens_at_the_threshold_asked_for(site):
    """Analysing a video again reuses its stored scores; its results must open at the Settings threshold, not at
    what the results slider said on the earlier look."""
    at = page("analyze")
    at.run()
    analyze_link(at, f"{site}/a.mp4")
    (rec,) = Store().list()
    at.slider(key=f"analyze.{rec['id']}.thr").set_value(0.8).run()
    at.slider(key="analyze.threshold").set_value(0.2)
    analyze_link(at, f"{site}/a.mp4")
    assert not at.exception and not at.error
    assert len(Store().list()) == 1  # reused, not scored again
    assert at.slider(key=f"analyze.{rec['id']}.thr").value == pytest.approx(0.2)


@pytest.fixture
def held(monkeypatch):
    """Analyses started from a page report one progress line, then wait at a gate the test opens (or stop when
    cancelled); after the gate they run for real. Drops the server's job registry afterwards."""
    import ui.analysis_runner as runner
    from core.errors import AnalysisCancelled
    from ui.cache import job_registry

    gate, real = threading.Event(), runner.open_and_analyze

    def held_at_gate(*args, report, cancelled=None, **kw):
        report(0.3, "Scoring held: 42 frames · 99 frames/s · 0:03.0 left")
        while not gate.wait(0.05):
            if cancelled is not None and cancelled():
                raise AnalysisCancelled("Analysis cancelled; nothing was saved.")
        return real(*args, report=report, cancelled=cancelled, **kw)

    monkeypatch.setattr(runner, "open_and_analyze", held_at_gate)
    yield gate
    for job in job_registry().jobs(""):
        job_registry().cancel("", job.id, wait_s=10)
    job_registry.clear()  # nothing left over for the next test's pages


def start_link(at: AppTest, url: str) -> AppTest:
    at.text_input(key="analyze.url").set_value(url)
    at.button(key="analyze.go_link").click()
    return at.run()


def test_a_running_analysis_shows_in_a_new_session_of_its_user_and_opens_there(site, held):
    """A reload is a new session: it finds the analysis still running (progress, Cancel), then opens its results."""
    from ui.cache import job_registry

    one = page("analyze")
    one.run()
    start_link(one, f"{site}/a.mp4")
    assert [p.text for p in one.progress] == ["Scoring held: 42 frames · 99 frames/s · 0:03.0 left"]
    assert one.progress[0].value == 30 and "Cancel" in [b.label for b in one.button]
    two = page("analyze")  # the reloaded tab
    two.run()
    assert [p.text for p in two.progress] == ["Scoring held: 42 frames · 99 frames/s · 0:03.0 left"]
    assert "Cancel" in [b.label for b in two.button] and not two.subheader
    assert any("results open here when the analysis ends" in i.value for i in two.info)
    held.set()
    (job,) = job_registry().jobs("")
    assert job_registry().wait("", job.id, 60)
    settle(two)  # collected once ui.jobs.CLAIM_GRACE_S has passed: the tab that started it is gone
    assert not two.exception and not two.error and not two.progress
    assert two.subheader[0].value == f"{site}/a.mp4" and "Cancel" not in [b.label for b in two.button]
    assert [r["source_uri"] for r in Store().list()] == [f"{site}/a.mp4"]


def test_cancel_on_the_page_stops_the_job_says_so_once_and_stores_nothing(site, held):
    from ui.cache import job_registry

    at = page("analyze")
    at.run()
    start_link(at, f"{site}/a.mp4")
    (cancel,) = [b for b in at.button if b.label == "Cancel"]
    cancel.click().run()
    assert not at.exception
    notes = [i.value for i in at.info if "cancelled" in i.value]
    assert notes == [f"The analysis of {site}/a.mp4 was cancelled; nothing was saved."]
    assert Store().list() == [] and job_registry().jobs("") == [] and not at.progress
    at.run()  # the note was for that moment: not again
    assert not [i for i in at.info if "cancelled" in i.value] and "Cancel" not in [b.label for b in at.button]


def test_cancelling_a_second_analysis_gives_back_the_results_it_took_off_the_page(site, held):
    """Starting a run clears the results shown (a failure must not sit on the last video's results); cancelling it
    loses nothing, so the results come back."""
    held.set()
    at = page("analyze")
    at.run()
    settle(start_link(at, f"{site}/a.mp4"))
    assert at.subheader[0].value == f"{site}/a.mp4"
    held.clear()
    start_link(at, f"{site}/a.mp4?again")
    assert at.progress and not at.subheader  # the run under way replaced them
    (cancel,) = [b for b in at.button if b.label == "Cancel"]
    cancel.click().run()
    assert not at.exception and any("cancelled" in i.value for i in at.info)
    assert at.subheader and at.subheader[0].value == f"{site}/a.mp4"


def test_history_says_which_analysis_is_still_running(site, held):
    """A running analysis is not in the store yet: History says it is under way rather than leave it missing."""
    at = page("analyze")
    at.run()
    start_link(at, f"{site}/a.mp4")
    history = page("history")
    history.run()
    assert not history.exception
    notes = [i.value for i in history.info if "under way" in i.value]
    assert notes == [
        f"Analysis of **{site}/a.mp4** under way (30%); it is listed here when it ends. Its progress and Cancel are "
        "on Analyze."
    ]
    held.set()
    settle(at)
    history.run()
    assert not [i for i in history.info if "under way" in i.value]


def test_another_users_running_analysis_is_not_shown(site, held, monkeypatch):
    from core.access import Identity

    at = page("analyze")
    at.run()
    start_link(at, f"{site}/a.mp4")
    assert at.progress
    import ui.analysis_runner as runner

    monkeypatch.setattr(runner, "identity", lambda: Identity("bob@example.org", "Bob"))
    other = page("analyze")
    other.run()
    assert not other.progress and "Cancel" not in [b.label for b in other.button]


def test_enter_in_the_link_box_submits_it():
    """The link box is a form: Enter (a submit without the button) starts the analysis as the button does."""
    at = page("analyze")
    at.run()
    box, button = at.text_input(key="analyze.url"), at.button(key="analyze.go_link")
    assert box.proto.form_id and box.proto.form_id == button.proto.form_id, "Enter in the box would do nothing"


def _run_upload(data: bytes, name: str) -> None:
    import streamlit as st

    from core.config import EventConfig, ScoringConfig
    from ui.analysis_runner import show_jobs, start_analysis
    from ui.cache import job_registry

    started = start_analysis(st.session_state["data"], "motion", ScoringConfig(), EventConfig(), label=name, name=name)
    assert started is not None and job_registry().wait("", started, 60)  # the job path Analyze uses, to its end
    rec = show_jobs(started)
    st.write("stored" if rec else "not stored")


@pytest.mark.parametrize(
    "name, make, message",
    [
        ("notes.mp4", lambda: b"hello, not a video\n" * 50, "not a video this app can read. Pick a video file (mp4"),
        ("empty.mp4", lambda: b"", "empty"),
        ("photo.png", lambda: b"\x89PNG\r\n\x1a\n" + b"0" * 100, "still image"),
    ],
)
def test_bad_uploads_show_an_error_and_store_nothing(name, make, message):
    at = AppTest.from_function(_run_upload, args=(b"", name), default_timeout=60)
    at.session_state["data"] = make()
    at.run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert Store().list() == []


def test_single_frame_upload_is_refused(tmp_path):
    data = write_video(tmp_path / "one.avi", moving_square_frames(n=1)).read_bytes()
    at = AppTest.from_function(_run_upload, args=(b"", "one.avi"), default_timeout=60)
    at.session_state["data"] = data
    at.run()
    assert any("single frame" in e.value for e in at.error)


def test_two_sessions_never_see_each_others_results(site):
    one, two = page("analyze"), page("analyze")
    one.run()
    two.run()
    analyze_link(one, f"{site}/a.mp4")
    analyze_link(two, f"{site}/b.mp4")
    one.run()
    assert one.subheader[0].value == f"{site}/a.mp4"
    assert two.subheader[0].value == f"{site}/b.mp4"
    ids = {r["source_uri"]: r["id"] for r in Store().list()}
    assert one.session_state["analyze.current_id"] == ids[f"{site}/a.mp4"]
    assert two.session_state["analyze.current_id"] == ids[f"{site}/b.mp4"]
    # each session's summary shows its own analysis's stored peak
    assert metric(one, "Peak score") == f"{Store().load(ids[f'{site}/a.mp4']).peak[0]:.2f}"
    assert metric(two, "Peak score") == f"{Store().load(ids[f'{site}/b.mp4']).peak[0]:.2f}"


def chart_models(at: AppTest) -> set[str]:
    """Model names in the data of the page's score chart (decoded from the Arrow datasets)."""
    import pyarrow as pa

    (chart,) = elements(at, "vega_lite_chart")
    names: set[str] = set()
    for ds in chart.proto.datasets:
        table = pa.ipc.open_stream(ds.data.data).read_all().to_pandas()
        if "model" in table:
            names |= set(table["model"])
    return names


@pytest.fixture
def fitted(tmp_path):
    """A second model to compare with, quick to run: the motion model fitted on one normal clip ('yard-fitted')."""
    from core.dataset import open_videos
    from core.train import fit_normal, register

    normal = tmp_path / "normal"
    normal.mkdir()
    write_video(normal / "n1.avi", moving_square_frames(n=60, seed=5))
    sources = open_videos(normal)
    register(fit_normal("motion-fitted", sources), "yard-fitted", "test scene model", sources)
    return "yard-fitted"


@pytest.fixture
def uploaded(make_video):
    """An upload analysed with motion, as on Analyze: the video kept under its hash, the analysis under its name."""
    from core.sources import open_source

    clip = make_video("yard.avi", n=80, fast_from=40, fast_to=56)
    stored = analyze(open_source(clip.read_bytes(), name="yard.avi"), model="motion", store=Store())
    assert Path(stored.video_path).name != "yard.avi"
    return stored


def start_compare(at: AppTest, rec_id: str, model: str, key: str = "analyze") -> AppTest:
    at.selectbox(key=f"{key}.{rec_id}.cmp_model").set_value(model).run()
    at.button(key=f"{key}.{rec_id}.cmp_go").click()
    return at.run()


def test_compare_overlays_a_second_model_on_the_same_chart(uploaded, fitted):
    at = page("analyze")
    at.session_state["analyze.current_id"] = uploaded.id
    at.run()
    assert chart_models(at) == {"motion v1"}
    settle(start_compare(at, uploaded.id, fitted))
    assert not at.exception and not at.error
    models = chart_models(at)
    assert "motion v1" in models and any(m.startswith("yard-fitted v") for m in models)
    assert sorted(r["model"] for r in Store().list()) == ["motion", "yard-fitted"]
    assert [r["source_name"] for r in Store().list()] == ["yard.avi", "yard.avi"]  # not the stored file's hash


def test_beside_a_compared_chart_each_model_says_its_peak_and_segments_at_the_threshold(uploaded):
    """A compared model that finds nothing is a flat line near 0: the line beside the chart says so in figures."""
    at = page("analyze")
    at.session_state["analyze.current_id"] = uploaded.id
    at.run()
    assert not any(m.value.startswith("At threshold") for m in at.markdown)  # nothing compared yet
    at.selectbox(key=f"analyze.{uploaded.id}.cmp_model").set_value("person-down").run()
    assert "Its scores are saved in History as an analysis of yard.avi with person-down." in [
        c.value for c in at.caption
    ]
    settle(start_compare(at, uploaded.id, "person-down"))  # a moving square: no person falls
    assert not at.exception
    other = next(r for r in Store().list() if r["model"] == "person-down")
    mine, theirs = uploaded, Store().load(other["id"])
    assert mine.segments and not theirs.segments
    (line,) = [m.value for m in at.markdown if m.value.startswith("At threshold")]
    # the raw peak, said so: the bold (smoothed) line beside it never reaches it
    assert line.startswith(f"At threshold {mine.events.threshold:.2f}: **motion v1** raw peak {mine.peak[0]:.2f}")
    n = len(mine.segments)
    assert line.split(" · ")[0].endswith(f"{n} segment{'s' if n != 1 else ''}")  # the open analysis first
    assert line.split(" · ")[1] == (
        f"**person-down v{theirs.model_version.split(':')[0]}** raw peak {theirs.peak[0]:.2f} at "
        f"{mmss(theirs.peak[1])}, no segment: it finds nothing here"
    )
    assert mine.track.smoothed.max() < mine.peak[0]  # why "raw" must be said
    # the History row the comparison added is said where it shows, not left to surprise the user there
    assert "Each comparison is saved in History as an analysis of yard.avi (person-down v" in " ".join(
        c.value for c in at.caption
    )


def test_a_compare_run_shows_progress_and_is_overlaid_when_it_ends_also_after_a_reload(uploaded, fitted, held):
    """Compare runs as a server job: progress and Cancel under the results it was started from, in that tab and in
    a reloaded one (a new session: the open analysis comes back by its History link); its end overlays it there."""
    from ui.cache import job_registry

    at = page("history")
    at.query_params["id"] = uploaded.id
    at.run()
    start_compare(at, uploaded.id, fitted, key="history")
    assert not at.exception and not at.error
    assert [p.text for p in at.progress] == ["Scoring held: 42 frames · 99 frames/s · 0:03.0 left"]
    assert "Cancel" in [b.label for b in at.button] and chart_models(at) == {"motion v1"}
    reloaded = page("history")
    reloaded.query_params["id"] = uploaded.id
    reloaded.run()
    assert [p.text for p in reloaded.progress] == ["Scoring held: 42 frames · 99 frames/s · 0:03.0 left"]
    assert "Cancel" in [b.label for b in reloaded.button]
    elsewhere = page("analyze")  # a reloaded Analyze tab opens no analysis: the run is listed there all the same
    elsewhere.run()
    assert [p.text for p in elsewhere.progress] == ["Scoring held: 42 frames · 99 frames/s · 0:03.0 left"]
    assert not any("results open here" in i.value for i in elsewhere.info)  # a comparison opens no results there
    held.set()
    (job,) = job_registry().jobs("")
    assert job_registry().wait("", job.id, 60)
    settle(reloaded)  # the tab that started it is gone: the reloaded one collects it after ui.jobs.CLAIM_GRACE_S
    assert not reloaded.exception and not reloaded.error and not reloaded.progress
    models = chart_models(reloaded)
    assert "motion v1" in models and any(m.startswith("yard-fitted v") for m in models)
    assert sorted(r["model"] for r in Store().list()) == ["motion", "yard-fitted"]
    assert "Cancel" not in [b.label for b in reloaded.button]


def test_a_compare_run_that_ends_on_an_analyze_page_with_nothing_open_says_so_and_overlays_later(
    uploaded, fitted, held
):
    """Reloaded onto Analyze (no analysis open): the run's end is told there once, and the overlay is on the chart
    when the user opens that analysis from History in the same tab."""
    from ui.cache import job_registry

    at = page("history")
    at.query_params["id"] = uploaded.id
    at.run()
    start_compare(at, uploaded.id, fitted, key="history")
    reloaded = page("analyze")
    reloaded.run()
    assert [p.text for p in reloaded.progress] == ["Scoring held: 42 frames · 99 frames/s · 0:03.0 left"]
    held.set()
    (job,) = job_registry().jobs("")
    assert job_registry().wait("", job.id, 60)
    settle(reloaded)
    assert not reloaded.exception and not reloaded.error and not reloaded.progress
    done = [i.value for i in reloaded.info if "is done" in i.value]
    told = f"The comparison of yard.avi with {fitted} is done: open the analysis it was started from (History) to see"
    told += " it overlaid."
    assert done == [told]
    reloaded.run()
    assert not [i for i in reloaded.info if "is done" in i.value]  # once
    reloaded.switch_page("app_pages/history.py")
    reloaded.query_params["id"] = uploaded.id
    reloaded.run()
    models = chart_models(reloaded)
    assert "motion v1" in models and any(m.startswith("yard-fitted v") for m in models)


def test_cancelling_a_compare_run_says_so_once_and_stores_nothing(uploaded, fitted, held):
    from ui.cache import job_registry

    at = page("analyze")
    at.session_state["analyze.current_id"] = uploaded.id
    at.run()
    start_compare(at, uploaded.id, fitted)
    (cancel,) = [b for b in at.button if b.label == "Cancel"]
    cancel.click().run()
    assert not at.exception and not at.error
    notes = [i.value for i in at.info if "cancelled" in i.value]
    assert notes == [f"The comparison of yard.avi with {fitted} was cancelled; nothing was saved."]
    assert [r["model"] for r in Store().list()] == ["motion"] and job_registry().jobs("") == []
    assert chart_models(at) == {"motion v1"} and not at.progress
    at.run()  # the note was for that moment: not again
    assert not [i for i in at.info if "cancelled" in i.value] and "Cancel" not in [b.label for b in at.button]


def test_a_failed_compare_run_says_why_once_in_words(uploaded, fitted, held):
    """The video went missing between the look and the click: an error a user can read, no overlay, once."""
    Path(uploaded.video_path).unlink()
    held.set()
    at = page("analyze")
    at.session_state["analyze.current_id"] = uploaded.id
    at.run()
    settle(start_compare(at, uploaded.id, fitted))
    assert not at.exception
    assert [e.value.startswith("File not found") for e in at.error] == [True], [e.value for e in at.error]
    assert [r["model"] for r in Store().list()] == ["motion"] and chart_models(at) == {"motion v1"}
    at.run()
    assert not at.error


def test_history_alert_log_shows_stored_alerts_with_their_email_status():
    import time

    from core.alerts import Alert
    from core.outbox import Outbox

    now = time.time()
    Outbox().record(
        Alert("alert", "camera", now, now - 4.0, 0.87, now - 1.0), "motion", snapshot=np.zeros((48, 64, 3), np.uint8)
    )
    at = page("history")
    at.run()
    assert not at.exception
    (log,) = [d.value for d in at.dataframe if "snapshot" in d.value.columns]
    assert len(log) == 1
    row = log.iloc[0]
    assert row["peak"] == pytest.approx(0.87)
    assert "pending" in " ".join(str(v) for v in row.values) or "waiting" in " ".join(str(v) for v in row.values)


def test_live_page_takes_rule_defaults_from_the_environment(monkeypatch):
    monkeypatch.setenv("VIGIL_ALERT_THRESHOLD", "0.7")
    monkeypatch.setenv("VIGIL_ALERT_SECONDS", "7")
    monkeypatch.setenv("VIGIL_ALERT_COOLDOWN", "300")
    at = page("live")
    at.run()
    assert not at.exception
    assert at.slider(key="live-thr").value == pytest.approx(0.7)
    assert at.number_input(key="live-n").value == pytest.approx(7.0)
    assert at.number_input(key="live-cool").value == pytest.approx(300.0)
    assert at.selectbox(key="live-model").value == "vigil"  # the default model


def test_each_cue_of_the_default_model_can_be_drawn_on_the_chart(tmp_path, stored):
    """A fusing model's analysis offers 'Show what each cue says': on, the chart gets one dashed curve per cue,
    with the stored values (smoothed like the score); a single-cue model's analysis offers nothing."""
    from core.events import smooth
    from core.families.vigil import BUILTIN, build_vigil
    from core.families.vigil.fusion import Fusion
    from core.registry import ModelSpec

    spec = ModelSpec.from_dict({**BUILTIN, "params": {**BUILTIN["params"], "fight_model": None}})
    fusion = Fusion({"objects": 2.0, "person_down": 1.0}, {"objects+person_down": 0.8}, 0.99)
    path = write_video(tmp_path / "sq.avi", moving_square_frames(n=80, fast_from=40, fast_to=56, fast_speed=60.0))
    rec = analyze(path, store=Store(), scorer=build_vigil(spec, None, fusion=fusion))
    at = page("analyze")
    at.session_state["analyze.current_id"] = rec.id
    at.run()
    assert not at.exception
    assert not any("cue" in t.columns for t in chart_data(elements(at, "vega_lite_chart")[0]))  # off by default
    at.toggle(key=f"analyze.{rec.id}.cues").set_value(True).run()
    assert not at.exception
    (curves,) = [t for t in chart_data(elements(at, "vega_lite_chart")[0]) if "cue" in t.columns]
    assert set(curves["cue"]) == {"moving objects", "person down"}
    want = smooth(rec.cues["moving objects"], rec.track.t, rec.events.smooth_seconds)
    got = curves[curves["cue"] == "moving objects"].sort_values("t")["value"].to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)

    at = page("analyze")
    at.session_state["analyze.current_id"] = stored.id
    at.run()
    assert not at.exception and not [t for t in at.toggle if t.key == f"analyze.{stored.id}.cues"]


def test_home_links_every_page_and_marks_the_default_model():
    at = page("home")
    at.run()
    assert not at.exception
    labels = {link.proto.label for link in elements(at, "page_link")}
    assert labels >= {"**Analyze**", "**History**", "**Live**", "**Label**", "**Archive**"}, labels
    table, earlier = at.table
    models = list(table.value.index)
    assert models[0] == "vigil (default)" and "motion" in models  # the default first and named, the others as is
    assert "what it finds" in table.value.columns and "Platt" not in " ".join(table.value["what it finds"])
    # versions kept for comparison are listed apart, in their own expander, not among the models to choose
    assert list(earlier.value.index) == ["fight-movinet-v1", "fight-movinet-v2"] and "fight-movinet" in models
    assert any(e.label == "Earlier versions kept for comparison (2)" for e in at.expander)
    # no MoViNet weights here: the default runs without its fight cue, and says so before anyone relies on it
    assert table.value.loc["vigil (default)", "status"] == "ready, in part (see below)"
    assert any(i.value.startswith("**vigil** runs here in part. Fights are not looked for") for i in at.info)
    analyze = page("analyze")
    analyze.run()
    assert any(i.value.startswith("Fights are not looked for") for i in analyze.info)  # under the model picker
    # the models that miss the same weight file are one line, not one each
    why = next(e for e in at.expander if e.label.startswith("Why "))
    lines = [m.value for m in why.markdown]
    assert len([x for x in lines if "movinet_a0_stream_int8.tflite" in x]) == 1, lines


def test_a_history_row_stays_on_its_analysis_when_new_ones_push_it_down():
    """Streamlit keeps a table's selection as a row number: after Compare (or a batch) stores a new analysis on
    top of the newest-first list, row 0 is another analysis. The page keeps the one that was clicked."""
    from ui.state import row_choice

    chosen, last = row_choice([0], ["a", "b"], None)  # the user clicks the newest, 'a'
    assert (chosen, last) == ("a", (0, "a"))
    chosen, last = row_choice([0], ["new", "a", "b"], last)  # a new analysis arrives on top; same selection
    assert chosen == "a"
    chosen, last = row_choice([2], ["new", "a", "b"], last)  # a real new click
    assert (chosen, last) == ("b", (2, "b"))
    assert row_choice([2], ["new", "a"], last)[0] is None  # 'b' deleted meanwhile: nothing, not a neighbour
    assert row_choice([], ["a"], last) == (None, None)


def test_live_settings_survive_a_visit_to_another_page():
    """Streamlit forgets a page's widgets when the user leaves it: the rule, model and source fields must come
    back as the user left them, not silently as the defaults (a source started then would use the defaults)."""
    at = page("live")
    at.run()
    at.slider(key="live-thr").set_value(0.2)
    at.number_input(key="live-n").set_value(1.0)
    at.number_input(key="live-cool").set_value(300.0)
    at.number_input(key="live-cap").set_value(5)
    at.selectbox(key="live-model").set_value("motion")
    at.radio(key="live-kind").set_value("Server stream or file").run()
    at.text_input(key="live-uri").input("/srv/videos/door.mp4")
    at.checkbox(key="live-loop").uncheck().run()
    assert not at.exception
    for other in ("history", "label", "analyze"):
        at.switch_page(f"app_pages/{other}.py").run()
        assert not at.exception
        at.switch_page("app_pages/live.py").run()
        assert not at.exception
        assert at.slider(key="live-thr").value == pytest.approx(0.2), other
        assert at.number_input(key="live-n").value == pytest.approx(1.0)
        assert at.number_input(key="live-cool").value == pytest.approx(300.0)
        assert at.number_input(key="live-cap").value == 5
        assert at.selectbox(key="live-model").value == "motion"
        assert at.radio(key="live-kind").value == "Server stream or file"
        assert at.text_input(key="live-uri").value == "/srv/videos/door.mp4"
        assert at.checkbox(key="live-loop").value is False


@pytest.fixture
def running_source(vtest):
    """The tester's looped server-side file (../shared vtest.avi) playing, without login; stopped after the test."""
    from test_live import ScriptedScorer

    from core.alerts import AlertConfig
    from core.live import LiveProcessor, ServerSource

    src = ServerSource(str(vtest), LiveProcessor(ScriptedScorer(), "scripted v1", AlertConfig()), loop=True).start()
    yield src
    src.stop()


def test_live_in_a_new_tab_opens_on_a_running_server_source(running_source):
    at = page("live")  # a new session: no source choice yet
    at.run()
    assert not at.exception
    assert at.radio(key="live-kind").value == "Server stream or file"
    assert any("vtest.avi" in m.value for m in at.markdown), [m.value for m in at.markdown]  # its row, to stop it


def test_live_on_the_camera_says_a_server_source_runs_and_shows_it_in_one_click(running_source):
    at = page("live")
    at.run()
    at.radio(key="live-kind").set_value("Browser camera").run()
    assert not at.exception
    assert [i.value for i in at.info if "server-side source is running" in i.value] == [
        "A server-side source is running: vtest.avi."
    ]
    at.button(key="live-show-server").click().run()
    assert not at.exception
    assert at.radio(key="live-kind").value == "Server stream or file"
    assert not any("server-side source is running" in i.value for i in at.info)


def test_live_opens_on_the_source_this_session_chose_else_on_a_running_server_source():
    from ui.live_state import CAMERA, SERVER, source_kind

    assert source_kind(None, server_running=False) == CAMERA
    assert source_kind(None, server_running=True) == SERVER  # a new tab never hides a running monitor
    assert source_kind(CAMERA, server_running=True) == CAMERA  # the user's own choice stands (a notice says)
    assert source_kind(SERVER, server_running=False) == SERVER


# --- analyses a server restart interrupted -----------------------------------------------------------------
def interrupt(source: Path | str, owner: str = "", fraction: float = 0.4, days_ago: float = 0.0, **kw) -> str:
    """Record an analysis of ``source`` (motion, 5 fps, threshold 0.6) as a server process that has since gone
    would have left it at ``fraction`` (0..1), ``days_ago`` days ago: what a restart leaves. Returns its record's id."""
    import socket
    import subprocess
    from datetime import UTC, datetime, timedelta

    from core.config import ScoringConfig
    from core.running import AnalysisRequest, ProcessStamp, RunningAnalyses

    ended = subprocess.Popen(["true"])
    ended.wait()
    then = datetime.now(UTC) - timedelta(days=days_ago)
    runs = RunningAnalyses(me=ProcessStamp(socket.gethostname(), ended.pid, "gone/0"), clock=lambda: then)
    label = kw.pop("label", "yard.avi")
    req = AnalysisRequest.of(
        owner, label, kw.pop("model", "motion"), ScoringConfig(fps=5.0), EventConfig(threshold=0.6), source, **kw
    )
    run_id = f"run-{time.monotonic_ns()}"
    runs.begin(run_id, req)
    runs.progress(run_id, fraction)
    return run_id


@pytest.fixture
def kept_upload(make_video) -> Path:
    """A video uploaded on Analyze and kept on disk (uploads folder) before its analysis was interrupted."""
    from core.sources import save_upload

    clip = make_video("yard.avi", n=80, fast_from=40, fast_to=56)
    return save_upload(clip.read_bytes(), "yard.avi")


def interrupted_note(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "interrupted by a server restart" in w.value]


@pytest.mark.parametrize("name", ["analyze", "history"])
def test_an_interrupted_analysis_is_told_with_run_again_and_dismiss(kept_upload, name):
    interrupt(kept_upload, upload=True, name="yard.avi", source_uri="upload:yard.avi")
    at = page(name)
    at.run()
    assert not at.exception
    assert interrupted_note(at) == ["The analysis of yard.avi was interrupted by a server restart at 40 %."]
    assert {"Run again", "Dismiss"} <= {b.label for b in at.button}


def test_interrupted_analyses_past_the_keep_days_are_forgotten_with_an_upload_nothing_else_uses(
    uploaded, make_video, monkeypatch
):
    from core.running import RunningAnalyses
    from core.sources import save_upload

    alone = save_upload(make_video("gate.avi", n=40).read_bytes(), "gate.avi")
    interrupt(alone, upload=True, label="gate.avi", days_ago=8)  # a week past: forgotten, its upload deleted
    interrupt(Path(uploaded.video_path), owner="bob@example.org", upload=True, days_ago=8)  # a stored analysis's
    interrupt(Path(uploaded.video_path), upload=True, label="yard.avi", days_ago=6)  # still within the week
    at = page("history")
    at.run()
    assert not at.exception and not at.error
    assert interrupted_note(at) == ["The analysis of yard.avi was interrupted by a server restart at 40 %."]
    assert [r.request.label for r in RunningAnalyses().of_owner("")] == ["yard.avi"]
    assert RunningAnalyses().of_owner("bob@example.org") == []  # any user's old records go, told to nobody
    assert not alone.exists() and Path(uploaded.video_path).exists()
    monkeypatch.setenv("VIGIL_INTERRUPTED_KEEP_DAYS", "5")
    at.run()
    assert not interrupted_note(at) and RunningAnalyses().of_owner("") == []
    assert Path(uploaded.video_path).exists()  # History still plays it


def test_another_users_interrupted_analysis_is_not_shown(kept_upload):
    interrupt(kept_upload, owner="bob@example.org", upload=True)
    for name in ("analyze", "history"):
        at = page(name)
        at.run()
        assert not interrupted_note(at) and "Run again" not in [b.label for b in at.button]


def test_run_again_starts_it_anew_with_its_settings_and_it_is_stored(kept_upload):
    from core.running import RunningAnalyses

    interrupt(kept_upload, upload=True, name="yard.avi", source_uri="upload:yard.avi")
    at = page("analyze")
    at.run()
    next(b for b in at.button if b.label == "Run again").click()
    settle(at.run())
    assert not at.exception and not at.error and not interrupted_note(at)
    (row,) = Store().list()
    rec = Store().load(row["id"])
    assert (rec.source_name, rec.source_uri, rec.model) == ("yard.avi", "upload:yard.avi", "motion")
    assert rec.scoring.fps == 5.0 and rec.events.threshold == 0.6  # the interrupted run's settings, not the page's
    assert rec.video_path == str(kept_upload)
    assert at.subheader[0].value == "yard.avi"  # opened on Analyze as any analysis that ends there
    assert RunningAnalyses().of_owner("") == []  # the old record went, and the new run's when it ended


def test_run_again_shows_it_running_like_any_analysis(kept_upload, held):
    interrupt(kept_upload, upload=True, name="yard.avi")
    at = page("history")
    at.run()
    next(b for b in at.button if b.label == "Run again").click().run()
    assert not at.exception and not interrupted_note(at)
    assert [i.value for i in at.info if "under way" in i.value] == [
        "Analysis of **yard.avi** under way (30%); it is listed here when it ends. Its progress and Cancel are on "
        "Analyze."
    ]
    analyze_tab = page("analyze")
    analyze_tab.run()
    assert [p.text for p in analyze_tab.progress] == ["Scoring held: 42 frames · 99 frames/s · 0:03.0 left"]


def test_dismiss_drops_it_and_its_upload_nothing_else_uses(kept_upload):
    from core.running import RunningAnalyses

    interrupt(kept_upload, upload=True)
    at = page("history")
    at.run()
    next(b for b in at.button if b.label == "Dismiss").click().run()
    assert not at.exception and not at.error and not interrupted_note(at)
    assert RunningAnalyses().of_owner("") == [] and not kept_upload.exists()


def test_dismiss_keeps_an_upload_a_stored_analysis_uses(uploaded):
    interrupt(Path(uploaded.video_path), upload=True)
    at = page("analyze")
    at.run()
    next(b for b in at.button if b.label == "Dismiss").click().run()
    assert not interrupted_note(at) and Path(uploaded.video_path).exists()


def test_run_again_of_a_video_that_is_gone_says_so_and_it_can_still_be_dismissed(kept_upload):
    interrupt(kept_upload, upload=True)
    kept_upload.unlink()
    at = page("analyze")
    at.run()
    next(b for b in at.button if b.label == "Run again").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The uploaded video of yard.avi is no longer on the server (deleted, or removed to keep the disk under its "
        "cap): it cannot be run again. Upload it again on Analyze."
    ]
    assert interrupted_note(at) and not at.progress  # nothing started; the record stays until dismissed
    next(b for b in at.button if b.label == "Dismiss").click().run()
    assert not at.exception and not interrupted_note(at) and not at.error


def test_an_interrupted_comparison_runs_again_on_its_analysis(uploaded, fitted):
    label = f"yard.avi with {fitted}"
    interrupt(uploaded.video_path, model=fitted, label=label, name="yard.avi", overlay_on=uploaded.id)
    at = page("analyze")
    at.session_state["analyze.current_id"] = uploaded.id
    at.run()
    assert interrupted_note(at) == [f"The comparison of {label} was interrupted by a server restart at 40 %."]
    next(b for b in at.button if b.label == "Run again").click()
    settle(at.run())
    assert not at.exception and not at.error and not interrupted_note(at)
    assert sorted(r["model"] for r in Store().list()) == ["motion", "yard-fitted"]
    models = chart_models(at)
    assert "motion v1" in models and any(m.startswith("yard-fitted v") for m in models)


def test_an_interrupted_comparison_whose_analysis_was_deleted_says_so(uploaded):
    interrupt(uploaded.video_path, label="yard.avi with yard-fitted", overlay_on=uploaded.id)
    Store().delete(uploaded.id)
    at = page("history")
    at.run()
    next(b for b in at.button if b.label == "Run again").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The analysis that yard.avi with yard-fitted was being compared with has been deleted: there is nothing to "
        "overlay it on."
    ]


def test_an_upload_started_on_the_page_is_recorded_with_its_video_already_kept(make_video, held):
    """What a restart needs is on disk before the job runs: the record, and the uploaded video it names."""
    from core.running import RunningAnalyses
    from core.sources import uploads_dir

    at = AppTest.from_function(_start_upload, default_timeout=60)
    at.session_state["data"] = make_video("yard.avi", n=40).read_bytes()
    at.run()
    assert not at.exception
    (run,) = RunningAnalyses().of_owner("")
    assert run.request.upload and Path(run.request.source).parent == uploads_dir()
    assert Path(run.request.source).read_bytes() == at.session_state["data"]
    assert (run.request.label, run.request.name, run.request.model) == ("yard.avi", "yard.avi", "motion")
    held.set()
    from ui.cache import job_registry

    assert job_registry().wait("", run.id, 60)
    assert RunningAnalyses().of_owner("") == [] and [r["source_name"] for r in Store().list()] == ["yard.avi"]


def _start_upload() -> None:
    import streamlit as st

    from core.config import EventConfig, ScoringConfig
    from ui.analysis_runner import start_analysis

    data = st.session_state["data"]
    st.session_state["started"] = start_analysis(
        data, "motion", ScoringConfig(), EventConfig(), label="yard.avi", name="yard.avi"
    )


def test_run_again_in_a_second_tab_after_the_first_did_starts_nothing_twice(kept_upload, held):
    from ui.cache import job_registry

    interrupt(kept_upload, upload=True)
    one, two = page("analyze"), page("history")
    one.run()
    two.run()
    next(b for b in one.button if b.label == "Run again").click().run()
    next(b for b in two.button if b.label == "Run again").click().run()
    assert not two.exception and len(job_registry().jobs("")) == 1
    assert not interrupted_note(two)  # the next run shows it running, not interrupted


def test_an_interrupted_link_runs_again_from_the_link(site):
    link = f"{site}/a.mp4"
    interrupt(link, label=link, source_uri=link, link=True)
    at = page("history")
    at.run()
    assert interrupted_note(at) == [f"The analysis of {link} was interrupted by a server restart at 40 %."]
    next(b for b in at.button if b.label == "Run again").click().run()
    assert not at.exception and not at.error and not interrupted_note(at)
    at.switch_page("app_pages/analyze.py")  # where its outcome is collected and opened
    settle(at.run())
    assert not at.error and at.subheader[0].value == link
    assert [(r["source_uri"], r["scoring_fps"]) for r in Store().list()] == [(link, 5.0)]


def test_an_interrupted_link_with_a_password_asks_for_the_link_again(site):
    link = site.replace("http://", "http://user:s3cret@") + "/a.mp4"
    interrupt(link, label=link, source_uri=link, link=True)
    at = page("analyze")
    at.run()
    assert not any("s3cret" in w.value for w in at.warning)
    next(b for b in at.button if b.label == "Run again").click().run()
    assert [e.value for e in at.error] == [
        f"The link of {site}/a.mp4 needed a user name and password, which Vigil does not keep: paste the link again "
        "on Analyze."
    ]
    assert Store().list() == [] and not at.progress


def test_analyze_says_its_open_analysis_was_deleted_by_name_once_not_as_an_error(stored):
    at = page("analyze")
    at.session_state["analyze.current_id"] = stored.id  # as a finished run leaves it (set_current_analysis)
    at.session_state["analyze.current_label"] = stored.source_name
    at.run()
    assert not at.exception and at.subheader[0].value == "yard.avi"
    Store().delete(stored.id)  # e.g. on History
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [i.value for i in at.info if "deleted" in i.value] == [
        "The analysis of **yard.avi** that was open here has been deleted."
    ]
    assert not any(stored.id in i.value for i in at.info) and not at.subheader
    assert at.session_state["analyze.current_id"] is None  # forgotten: the next rerun says nothing of it
    at.run()
    assert not at.error and not any("deleted" in i.value for i in at.info)


def test_analyze_keeps_the_chosen_model_and_settings_when_the_user_comes_back_during_a_run(site, held):
    """Leaving Analyze while an analysis runs and coming back must not show the default model beside a run that
    scores with another one (nor reset the Settings)."""
    at = page("analyze")
    at.run()
    at.selectbox(key="analyze.model").set_value("motion")
    at.slider(key="analyze.fps").set_value(5.0)
    at.slider(key="analyze.threshold").set_value(0.7).run()
    start_link(at, f"{site}/a.mp4")
    assert at.progress
    at.switch_page("app_pages/history.py").run()
    at.switch_page("app_pages/analyze.py").run()
    assert not at.exception and at.progress
    assert at.selectbox(key="analyze.model").value == "motion"
    assert at.slider(key="analyze.fps").value == pytest.approx(5.0)
    assert at.slider(key="analyze.threshold").value == pytest.approx(0.7)


def test_the_progress_line_names_the_model_that_scores(make_video):
    """The running analysis says which model it runs ("Scoring yard.avi with motion v1: …")."""
    from core.config import ScoringConfig
    from core.registry import get_spec, load_scorer
    from ui.analysis_runner import open_and_analyze

    lines: list[str] = []
    open_and_analyze(
        str(make_video("yard.avi", n=30)),
        "motion",
        ScoringConfig(),
        EventConfig(),
        label="yard.avi",
        scorer=load_scorer("motion"),
        store=Store(),
        owner="",
        report=lambda fraction, text: lines.append(text),
    )
    version = get_spec("motion").version
    scoring = [line for line in lines if line.startswith("Scoring")]
    assert scoring and all(line.startswith(f"Scoring yard.avi with motion v{version}: ") for line in scoring)


def test_the_backtest_names_its_controls_as_live_does_and_says_why_it_raised_no_alert(stored):
    """The backtest's 'Alert after (s)' is the Live rule's control of that name; a 0 comes with how long the rule's
    average stayed above the threshold, which is the longest N that would still have raised an alert."""
    from core.alerts import AlertConfig, backtest
    from ui.results import longest_above

    at = page("live")
    at.run()
    live_labels = {at.number_input(key="live-n").label, at.number_input(key="live-cool").label}
    at.switch_page("app_pages/history.py")
    at.query_params["id"] = stored.id
    at.run()
    bt = {at.slider(key=f"history.{stored.id}.{k}").label for k in ("bt_n", "bt_cd")}
    assert bt == live_labels == {"Alert after (s)", "Cooldown (s)"}

    cfg = AlertConfig().with_threshold(0.3, seconds=30.0)
    longest = longest_above(stored.track, cfg)
    assert longest is not None and 0.5 < longest < 30.0

    def alerts(seconds: float) -> int:
        return sum(a.kind == "alert" for a in backtest(stored.track, cfg.with_threshold(0.3, seconds=seconds)))

    assert alerts(longest - 0.15) >= 1 and alerts(longest + 0.15) == 0  # the figure said is the rule's own
    at.slider(key=f"history.{stored.id}.bt_thr").set_value(0.3)
    at.slider(key=f"history.{stored.id}.bt_n").set_value(30.0).run()
    assert "**0 alert(s)**" in backtest_text(at)
    assert f"stayed above 0.30 for at most {longest:.1f} s, under the 30 s it must last" in backtest_text(at)
    at.slider(key=f"history.{stored.id}.bt_thr").set_value(0.99).run()
    assert "never went above 0.99" in backtest_text(at)


@pytest.mark.parametrize("kind", ["theft", "vandalism", "fall", "fight"])
def test_home_promises_only_kinds_a_registered_model_says_it_finds(kind):
    """The lead names a kind of anomaly only when some model's description does (it once promised theft and
    vandalism, which no model looks for)."""
    from core.registry import specs

    at = page("home")
    at.run()
    lead = at.markdown[0].value.split("For other kinds")[0].lower()
    described = " ".join(s.description.lower() for s in specs().values())
    assert (kind in lead) == (kind in described), (kind, lead)


def test_analysing_a_stored_video_again_says_it_shows_the_earlier_result(site):
    """The engine reuses a video already analysed with the same model and settings: the page says so with the date,
    instead of returning at once with an old date and no word."""
    from ui.results import when_text

    at = page("analyze")
    at.run()
    analyze_link(at, f"{site}/a.mp4")
    assert not [i for i in at.info if "Already analysed" in i.value]  # scored now: nothing to say
    (rec,) = Store().list()
    time.sleep(1.1)  # the store's times are to the second
    analyze_link(at, f"{site}/a.mp4")
    assert len(Store().list()) == 1  # reused
    notes = [i.value for i in at.info if "Already analysed" in i.value]
    assert notes == [
        f"Already analysed on {when_text(rec['created_at'])} with the same model and settings: showing that result, "
        "without scoring it again."
    ]
    at.run()
    assert not [i for i in at.info if "Already analysed" in i.value]  # said once, with the click
