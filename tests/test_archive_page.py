"""AppTest of the Archive page: a finished batch's ranking comes from the store, a job started on the page
runs in its own process (a fresh session sees it finish), folders outside the roots are refused, and a
ranking link opens the results view at that moment."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import moving_square_frames, write_video
from streamlit.testing.v1 import AppTest

from core.batch import JobStore, run_batch
from core.store import Store

REPO = Path(__file__).resolve().parent.parent


def page(name: str = "archive") -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page(f"app_pages/{name}.py")
    return at


def frame(at: AppTest, column: str):
    """The first dataframe on the page that has ``column``."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


@pytest.fixture
def yard(vigil_env) -> Path:
    """Three clips inside the data folder (an allowed root), two with a burst of fast motion."""
    folder = vigil_env / "footage" / "yard"
    folder.mkdir(parents=True)
    write_video(folder / "a.avi", moving_square_frames(n=80, fast_from=40, fast_to=56))
    write_video(folder / "b.avi", moving_square_frames(n=100, fast_from=30, fast_to=50, seed=3))
    write_video(folder / "c.avi", moving_square_frames(n=60, seed=2))
    return folder


def test_finished_batch_ranking_comes_from_the_store(yard):
    store = Store()
    summary = run_batch([str(p) for p in sorted(yard.glob("*.avi"))], workers=1, store=store)
    assert summary.done == 3
    ids = JobStore(store.db).analysis_ids(summary.job_id)
    expected = sorted(
        ((s.peak, a, s.cause) for a in ids for s in store.load(a).segments), key=lambda x: -x[0]
    )  # every segment of the batch, worst first
    assert len(expected) >= 2

    at = page()
    at.query_params["job"] = summary.job_id
    at.run()
    assert not at.exception, at.exception
    ranked = frame(at, "cause")
    assert list(ranked["peak"]) == [round(p, 3) for p, _, _ in expected]
    assert list(ranked["cause"]) == [c for _, _, c in expected] and all(ranked["cause"])  # the default says why
    first_id = expected[0][1]
    peak_t = max(store.load(first_id).segments, key=lambda s: s.peak).peak_t
    assert ranked["open"][0] == f"history?id={first_id}&t={peak_t:.2f}"
    assert all(str(u).startswith("data:image/jpeg;base64,") for u in ranked["thumbnail"])
    assert set(ranked["video"]) <= {"a.avi", "b.avi", "c.avi"}
    videos = frame(at, "status")
    assert list(videos["status"]) == ["done", "done", "done"]
    assert [m.value for m in at.metric][:3] == ["3", "0", "0"]

    # the ranking's link opens the results view at that moment
    hist = page("history")
    hist.query_params["id"] = first_id
    hist.query_params["t"] = f"{peak_t:.2f}"
    hist.run()
    assert not hist.exception
    assert any("Selected moment" in m.value for m in hist.markdown)
    assert "t" not in hist.query_params


def test_folder_outside_the_roots_is_refused_and_nothing_is_queued(tmp_path):
    outside = tmp_path / "private"
    outside.mkdir()
    write_video(outside / "x.avi", moving_square_frames(n=20))
    at = page()
    at.run()
    at.text_input(key="archive.folder").set_value(str(outside))
    at.button(key="archive.start").click().run()
    assert any("outside the allowed data folders" in e.value for e in at.error)
    assert JobStore().list() == []


@pytest.mark.slow
def test_a_job_started_on_the_page_runs_in_the_background_and_a_new_session_sees_it(yard):
    at = page()
    at.run()
    at.text_input(key="archive.folder").set_value(str(yard))
    at.number_input(key="archive.workers").set_value(1)
    at.button(key="archive.start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    jobs = JobStore()
    job = jobs.list()[0]
    assert job.total == 3 and job.owner and job.active
    deadline = time.monotonic() + 180
    while jobs.get(job.id).active and time.monotonic() < deadline:
        time.sleep(0.5)
    done = jobs.get(job.id)
    assert done.status == "done", (done.status, done.error)
    assert done.counts["done"] == 3 and len(Store().list()) == 3

    fresh = page()  # another session (a reload, another tab): the job and its results are in the store
    fresh.query_params["job"] = job.id
    fresh.run()
    assert not fresh.exception
    assert list(frame(fresh, "status")["status"]) == ["done", "done", "done"]
    assert len(frame(fresh, "cause")) >= 2


def test_cancel_on_the_page_sets_the_flag_the_driver_polls(yard):
    jobs = JobStore()
    job_id = jobs.create([str(p) for p in sorted(yard.glob("*.avi"))], "motion")
    at = page()
    at.query_params["job"] = job_id
    at.run()
    at.button(key=f"archive.cancel.{job_id}").click().run()
    assert not at.exception
    assert jobs.cancel_requested(job_id) and jobs.get(job_id).status == "cancelled"
