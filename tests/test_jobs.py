"""The analysis job registry (ui/jobs.py): runs outlive page runs, report progress, cancel without storing,
hand each outcome out once, and never show one user's runs to another."""

from __future__ import annotations

import threading

import pytest

from core.config import EventConfig, ScoringConfig
from core.errors import NotAVideoError
from core.registry import load_scorer
from core.store import Store
from ui.analysis_runner import open_and_analyze
from ui.jobs import CLAIM_GRACE_S, KEEP_S, JobRegistry

ALICE, BOB = "alice@example.org", "bob@example.org"


class Clock:
    """A settable monotonic clock, seconds."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ended(reg: JobRegistry, owner: str, job_id: str) -> None:
    assert reg.wait(owner, job_id, 30), "the job did not end"


def real_analysis(clip, report_seen: threading.Event | None = None):
    """Work that analyses ``clip`` with the motion model into the test's store (as Analyze does)."""
    scorer = load_scorer("motion")

    def work(report, cancelled):
        def seen(fraction: float, text: str) -> None:
            report(fraction, text)
            if report_seen is not None and text.startswith("Scoring"):
                report_seen.set()

        return open_and_analyze(
            str(clip),
            "motion",
            ScoringConfig(),
            EventConfig(),
            label="yard.avi",
            scorer=scorer,
            store=Store(),
            owner=ALICE,
            report=seen,
            cancelled=cancelled,
            name="yard.avi",
        )

    return work


def test_a_job_reports_progress_and_hands_its_record_out_once(make_video):
    clip = make_video("yard.avi", n=60, fast_from=30, fast_to=40)
    reg = JobRegistry()
    go = threading.Event()
    inner = real_analysis(clip)

    def work(report, cancelled):
        report(0.25, "Scoring yard.avi: 15 frames")
        go.wait(30)  # held here so the test sees the progress of a running job
        return inner(report, cancelled)

    job_id = reg.start(ALICE, "tab-1", "yard.avi", work)
    for _ in range(100):
        (view,) = reg.jobs(ALICE)
        if view.fraction == 0.25:
            break
        threading.Event().wait(0.02)
    assert (view.state, view.fraction, view.text) == ("running", 0.25, "Scoring yard.avi: 15 frames")
    assert reg.take_finished(ALICE, "tab-1") == []  # nothing to collect while it runs
    go.set()
    ended(reg, ALICE, job_id)
    (done,) = reg.take_finished(ALICE, "tab-1")
    assert done.state == "done" and done.error is None
    assert [r["id"] for r in Store().list()] == [done.record.id] and done.record.source_name == "yard.avi"
    assert reg.take_finished(ALICE, "tab-1") == [] and reg.jobs(ALICE) == []  # collected once, then gone


def test_cancel_stops_the_run_and_stores_nothing(make_video):
    clip = make_video("yard.avi", n=600)  # a minute of video: still scoring when the cancel comes
    reg = JobRegistry()
    scoring = threading.Event()
    job_id = reg.start(ALICE, "tab-1", "yard.avi", real_analysis(clip, scoring))
    assert scoring.wait(60), "scoring never started"
    reg.cancel(BOB, job_id)  # another user's cancel does nothing
    assert reg.jobs(ALICE)[0].state == "running" and not reg.jobs(ALICE)[0].cancel_requested
    reg.cancel(ALICE, job_id, wait_s=30)
    (view,) = reg.take_finished(ALICE, "tab-1")
    assert view.state == "cancelled" and view.record is None and view.error is None
    assert Store().list() == []


@pytest.mark.parametrize(
    "error, message",
    [
        (NotAVideoError("notes.mp4 is not a video."), "notes.mp4 is not a video."),
        (RuntimeError("index 3 out of range"), "The analysis of notes.mp4 failed unexpectedly"),  # a bug: no details
    ],
)
def test_an_error_is_handed_out_once_in_words(error, message):
    reg = JobRegistry()

    def work(report, cancelled):
        raise error

    job_id = reg.start(ALICE, "tab-1", "notes.mp4", work)
    ended(reg, ALICE, job_id)
    (view,) = reg.take_finished(ALICE, "tab-1")
    assert view.state == "failed" and view.error.startswith(message) and "Traceback" not in view.error
    assert reg.take_finished(ALICE, "tab-1") == []


def test_a_bad_upload_fails_with_the_source_error_and_is_not_kept(tmp_path):
    from core.sources import uploads_dir

    reg = JobRegistry()
    scorer = load_scorer("motion")

    def work(report, cancelled):
        return open_and_analyze(
            b"hello, not a video\n" * 50,
            "motion",
            ScoringConfig(),
            EventConfig(),
            label="notes.mp4",
            scorer=scorer,
            store=Store(),
            owner=ALICE,
            report=report,
            cancelled=cancelled,
            name="notes.mp4",
        )

    job_id = reg.start(ALICE, "tab-1", "notes.mp4", work)
    ended(reg, ALICE, job_id)
    (view,) = reg.take_finished(ALICE, "tab-1")
    assert view.state == "failed" and "not a video" in view.error
    assert Store().list() == [] and not [p for p in uploads_dir().glob("*") if p.is_file()]


def test_one_user_never_sees_waits_for_or_collects_another_users_jobs():
    reg = JobRegistry()
    job_id = reg.start(ALICE, "tab-1", "yard.avi", lambda report, cancelled: None)
    assert reg.wait(ALICE, job_id, 30)
    assert reg.jobs(BOB) == [] and reg.take_finished(BOB, "tab-1") == [] and not reg.collectable(BOB, "tab-1")
    assert not reg.wait(BOB, job_id, 0.1)
    assert [j.id for j in reg.jobs(ALICE)] == [job_id]  # still there for its owner


def test_the_starting_session_collects_first_another_after_a_grace_and_nobody_after_keep_s():
    clock = Clock()
    reg = JobRegistry(clock=clock)
    first = reg.start(ALICE, "tab-1", "a.avi", lambda report, cancelled: None)
    ended(reg, ALICE, first)
    assert not reg.collectable(ALICE, "reloaded") and reg.take_finished(ALICE, "reloaded") == []
    clock.now += CLAIM_GRACE_S  # the starting tab is gone (reloaded): the new session of the same user takes it
    assert reg.collectable(ALICE, "reloaded")
    assert [j.id for j in reg.take_finished(ALICE, "reloaded")] == [first]
    second = reg.start(ALICE, "tab-1", "b.avi", lambda report, cancelled: None)
    ended(reg, ALICE, second)
    clock.now += KEEP_S + 1  # nobody came for it: dropped, memory does not grow
    assert reg.jobs(ALICE) == [] and reg.take_finished(ALICE, "tab-1") == []


def test_compare_runs_and_analyses_are_collected_apart():
    """A Compare run is taken by the results view it overlays, an analysis by Analyze: neither takes the other's."""
    reg = JobRegistry()
    run = reg.start(ALICE, "tab-1", "a.avi", lambda report, cancelled: None)
    cmp = reg.start(ALICE, "tab-1", "a.avi with yard-fitted", lambda report, cancelled: None, overlay_on="rec-a")
    ended(reg, ALICE, run)
    ended(reg, ALICE, cmp)
    assert {j.id: j.overlay_on for j in reg.jobs(ALICE)} == {run: None, cmp: "rec-a"}
    assert reg.collectable(ALICE, "tab-1", compare=True) and reg.collectable(ALICE, "tab-1", compare=False)
    assert [(j.id, j.overlay_on) for j in reg.take_finished(ALICE, "tab-1", compare=True)] == [(cmp, "rec-a")]
    assert not reg.collectable(ALICE, "tab-1", compare=True)
    assert [j.id for j in reg.take_finished(ALICE, "tab-1", compare=False)] == [run]
    assert reg.jobs(ALICE) == []
