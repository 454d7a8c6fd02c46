"""Running analyses recorded in the store (core/running.py): a record of a process that is gone is an interrupted
analysis, one of a live process is not; a job's record follows it (progress now and then, none once it ends); one
user never sees another's; no password is ever written."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.config import EventConfig, ScoringConfig
from core.db import Database
from core.errors import AnalysisCancelled, NotAVideoError, NotFoundError, SourceGoneError
from core.running import AnalysisRequest, ProcessStamp, RunningAnalyses, check_rerun, is_running, this_process
from ui.jobs import RECORD_EVERY_S, JobRegistry

REPO = Path(__file__).resolve().parent.parent
ALICE, BOB = "alice@example.org", "bob@example.org"


def request(owner: str = ALICE, source: str = "/videos/yard.avi", **kw) -> AnalysisRequest:
    return AnalysisRequest.of(
        owner, "yard.avi", "motion", ScoringConfig(fps=5.0), EventConfig(threshold=0.7), source, **kw
    )


def gone_process() -> ProcessStamp:
    """The stamp of a process that has run and exited (its pid is free; its start time is one nobody has)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return ProcessStamp(socket.gethostname(), proc.pid, "gone/0")


WRITER = """
import sys
from core.config import EventConfig, ScoringConfig
from core.db import Database
from core.running import AnalysisRequest, RunningAnalyses
runs = RunningAnalyses(Database(sys.argv[1]))
req = AnalysisRequest.of("alice@example.org", "yard.avi", "motion", ScoringConfig(fps=5.0), EventConfig(), "/v/y.avi")
runs.begin("run-1", req)
runs.progress("run-1", 0.42)
print("written", flush=True)
sys.stdin.read()  # lives until the test closes its stdin or kills it
"""


def test_a_record_left_by_a_server_process_is_interrupted_only_once_that_process_is_gone(tmp_path):
    db = tmp_path / "vigil.sqlite"
    server = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert server.stdout.readline().strip() == "written"
        runs = RunningAnalyses(Database(db))  # this process: another server sharing the data folder
        (live,) = runs.of_owner(ALICE)
        assert live.process.pid == server.pid and live.fraction == pytest.approx(0.42)
        assert runs.interrupted(ALICE) == []  # its process still runs it: not interrupted
    finally:
        server.kill()  # the restart: the process ends without a word
        server.wait()
    (gone,) = RunningAnalyses(Database(db)).interrupted(ALICE)
    assert (gone.id, gone.fraction, gone.request.label, gone.request.source) == (
        "run-1",
        0.42,
        "yard.avi",
        "/v/y.avi",
    )
    assert gone.request.scoring == ScoringConfig(fps=5.0) and gone.request.events == EventConfig()


def test_a_pid_reused_by_another_process_does_not_keep_a_record_alive():
    me = this_process()
    assert is_running(me)
    assert not is_running(ProcessStamp(me.host, me.pid, me.start + "0"))  # same pid, another start: another process
    assert not is_running(gone_process())
    assert is_running(ProcessStamp("another-host.example", 1, "x/1"))  # not ours to judge: never called gone


def test_settings_and_source_survive_the_round_trip_and_no_password_is_written(vigil_env):
    runs = RunningAnalyses(me=gone_process())
    link = "https://user:s3cret@cams.example.org/yard.mp4"
    runs.begin("run-1", request(source=link, source_uri=link, link=True))
    (run,) = runs.interrupted(ALICE)
    r = run.request
    assert r.source == r.source_uri == "https://cams.example.org/yard.mp4" and r.link and r.needs_login
    assert (r.model, r.scoring, r.events) == ("motion", ScoringConfig(fps=5.0), EventConfig(threshold=0.7))
    with sqlite3.connect(runs.db.path) as con:  # nowhere in the table, whatever a page shows of it
        assert "s3cret" not in repr(con.execute("SELECT * FROM running_analyses").fetchall())
    with pytest.raises(SourceGoneError, match="user name and password"):
        check_rerun(run)


def test_one_user_never_sees_or_dismisses_another_users_interrupted_analyses(vigil_env):
    runs = RunningAnalyses(me=gone_process())
    runs.begin("a", request(ALICE))
    runs.begin("b", request(BOB))
    assert [r.id for r in runs.interrupted(ALICE)] == ["a"]
    assert [r.id for r in runs.interrupted(BOB)] == ["b"]
    with pytest.raises(NotFoundError):
        runs.dismiss(BOB, "a")
    assert [r.id for r in runs.interrupted(ALICE)] == ["a"]
    assert runs.dismiss(ALICE, "a").id == "a" and runs.interrupted(ALICE) == []


def test_a_run_whose_video_or_compared_analysis_is_gone_says_so_in_words(vigil_env, tmp_path):
    video = tmp_path / "yard.avi"
    video.write_bytes(b"x")
    runs = RunningAnalyses(me=gone_process())
    runs.begin("a", request(source=str(video), upload=True))
    runs.begin("c", request(source=str(video), overlay_on="20260101-000000-abcd"))
    plain, compare = runs.interrupted(ALICE)
    check_rerun(plain)  # the video is there: nothing to say
    with pytest.raises(SourceGoneError, match="has been deleted"):
        check_rerun(compare, analysis_exists=False)
    video.unlink()
    with pytest.raises(SourceGoneError, match="uploaded video of yard.avi is no longer on the server"):
        check_rerun(plain)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("outcome", ["done", "failed", "cancelled", "bug"])
def test_a_jobs_record_follows_it_progress_now_and_then_and_none_once_it_ends(vigil_env, outcome):
    clock, runs = Clock(), RunningAnalyses()
    reg = JobRegistry(clock)
    step, stepped = threading.Event(), threading.Event()

    def work(report, cancelled):
        for fraction in (0.1, 0.2, 0.5):
            step.wait(10)
            step.clear()
            report(fraction, f"{fraction:.0%}")
            stepped.set()
        step.wait(10)
        if outcome == "failed":
            raise NotAVideoError("'yard.avi' is not a video.")
        if outcome == "cancelled":
            raise AnalysisCancelled("Analysis cancelled; nothing was saved.")
        if outcome == "bug":
            raise RuntimeError("a bug")
        return None

    def advance(seconds: float) -> float:
        clock.now += seconds
        stepped.clear()
        step.set()
        assert stepped.wait(10)
        (run,) = runs.of_owner(ALICE)
        return run.fraction

    job = reg.start(ALICE, "tab", "yard.avi", work, journal=runs, request=request())
    (run,) = runs.of_owner(ALICE)  # written before the job runs: a restart at once still leaves it
    assert run.id == job and run.fraction == 0.0 and not run.interrupted
    assert advance(1.0) == 0.0  # 1 s after the start: not written (never on every frame)
    assert advance(RECORD_EVERY_S) == pytest.approx(0.2)
    assert advance(1.0) == pytest.approx(0.2)
    step.set()
    assert reg.wait(ALICE, job, 10)
    assert runs.of_owner(ALICE) == []


def test_a_job_without_a_journal_writes_nothing(vigil_env):
    reg = JobRegistry()
    job = reg.start(ALICE, "tab", "yard.avi", lambda report, cancelled: None)
    assert reg.wait(ALICE, job, 10)
    assert RunningAnalyses().of_owner(ALICE) == []
