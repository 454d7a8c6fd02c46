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
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.config import EventConfig, ScoringConfig
from core.db import Database
from core.errors import AnalysisCancelled, NotAVideoError, NotFoundError, SourceGoneError
from core.running import (
    FIRST_SIGHT_STALE_S,
    STALE_HEARTBEAT_S,
    AnalysisRequest,
    HeartbeatWatch,
    ProcessStamp,
    RunningAnalyses,
    check_rerun,
    is_interrupted,
    is_running,
    this_process,
)
from ui.jobs import RECORD_EVERY_S, JobRegistry

REPO = Path(__file__).resolve().parent.parent
ALICE, BOB = "alice@example.org", "bob@example.org"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


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


class Counting(RunningAnalyses):
    """A journal that also keeps every progress it was asked to write (fraction 0..1), in order."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.writes: list[float] = []

    def progress(self, run_id: str, fraction: float) -> None:
        self.writes.append(fraction)
        super().progress(run_id, fraction)


class UTCClock:
    """A settable wall clock for RunningAnalyses (aware UTC)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def mono(self) -> float:
        """The same clock as a monotonic one (seconds), for a ``HeartbeatWatch``."""
        return (self.now - T0).total_seconds()


def eventually(check, timeout: float = 10.0) -> bool:
    """Poll ``check()`` until it is true or ``timeout`` s have passed; its last value."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(check())


@pytest.mark.parametrize("outcome", ["done", "failed", "cancelled", "bug"])
def test_a_jobs_record_is_written_before_it_runs_never_per_frame_and_gone_once_it_ends(vigil_env, outcome):
    runs, go = Counting(), threading.Event()
    reg = JobRegistry(record_every_s=3600.0)  # no heartbeat falls inside this test

    def work(report, cancelled):
        for frame in range(1000):
            report(frame / 1000, f"frame {frame}")
        go.wait(10)
        if outcome == "failed":
            raise NotAVideoError("'yard.avi' is not a video.")
        if outcome == "cancelled":
            raise AnalysisCancelled("Analysis cancelled; nothing was saved.")
        if outcome == "bug":
            raise RuntimeError("a bug")
        return None

    job = reg.start(ALICE, "tab", "yard.avi", work, journal=runs, request=request())
    (run,) = runs.of_owner(ALICE)  # written before the job runs: a restart at once still leaves it
    assert run.id == job and run.fraction == 0.0 and not run.interrupted
    assert eventually(lambda: reg.jobs(ALICE)[0].fraction == pytest.approx(0.999))
    assert runs.writes == []  # a thousand frames reported, not one write: the heartbeat alone writes
    go.set()
    assert reg.wait(ALICE, job, 10)
    assert runs.of_owner(ALICE) == []


def test_the_heartbeat_is_written_every_few_seconds_also_while_the_work_reports_nothing(vigil_env):
    clock, go, reported = UTCClock(), threading.Event(), threading.Event()
    runs = Counting(clock=clock)
    reg = JobRegistry(record_every_s=0.01)

    def work(report, cancelled):
        report(0.3, "30 %")
        reported.set()
        go.wait(10)  # a long transcode or a silent download: no report at all

    job = reg.start(ALICE, "tab", "yard.avi", work, journal=runs, request=request())
    assert reported.wait(10)
    assert eventually(lambda: runs.of_owner(ALICE)[0].fraction == pytest.approx(0.3))
    for minutes in (1, 10, 60):  # the fraction never moves; the heartbeat follows the clock all the same
        beat = clock.advance(minutes * 60).isoformat(timespec="seconds")
        assert eventually(lambda b=beat: runs.of_owner(ALICE)[0].updated_at == b)
    go.set()
    assert reg.wait(ALICE, job, 10) and runs.of_owner(ALICE) == []
    assert set(runs.writes) == {0.3}


def test_the_real_heartbeat_is_far_inside_the_stale_limit():
    assert RECORD_EVERY_S * 10 <= STALE_HEARTBEAT_S  # ten missed beats (a busy database) never call a run gone


def test_a_job_without_a_journal_writes_nothing(vigil_env):
    reg = JobRegistry()
    job = reg.start(ALICE, "tab", "yard.avi", lambda report, cancelled: None)
    assert reg.wait(ALICE, job, 10)
    assert RunningAnalyses().of_owner(ALICE) == []


# --- another host name: judged by whether its heartbeat still changes -------------------------------------------
def test_is_interrupted_judges_another_hosts_run_by_its_heartbeat_and_ours_by_its_process():
    me = this_process()
    other = ProcessStamp("old-container", me.pid, me.start)
    assert is_interrupted(other, heartbeat_stopped=True) is True
    assert is_interrupted(other, heartbeat_stopped=False) is False
    assert is_interrupted(me, heartbeat_stopped=True) is False  # this host's live process: its pid decides
    assert is_interrupted(gone_process(), heartbeat_stopped=False) is True  # this host, process gone: at once


class Mono:
    """A settable monotonic clock, seconds."""

    def __init__(self) -> None:
        self.t = 5000.0

    def __call__(self) -> float:
        return self.t


def test_the_watch_calls_a_heartbeat_stopped_after_stale_s_without_a_new_value_whatever_its_age():
    mono, key = Mono(), ("/data/vigil.sqlite", "run-1")
    watch = HeartbeatWatch(mono)
    assert not watch.stopped(key, "12:00:00", age_s=3 * 3600.0)  # first seen hours old: watched, not judged by age
    mono.t += STALE_HEARTBEAT_S
    assert not watch.stopped(key, "12:00:00", age_s=9e3)  # at the limit: still given the benefit of the doubt
    assert not watch.stopped(key, "12:00:05", age_s=9e3)  # a new value: it beats, the watch starts again
    mono.t += STALE_HEARTBEAT_S + 1
    assert watch.stopped(key, "12:00:05", age_s=-600.0)  # unchanged past the limit, though 'in the future' here
    assert watch.stopped(("/data/vigil.sqlite", "run-2"), "x", age_s=FIRST_SIGHT_STALE_S + 1)  # day-old at first sight
    assert not watch.stopped(("/data/vigil.sqlite", "run-3"), "x", age_s=FIRST_SIGHT_STALE_S - 60)
    assert watch.stopped(("/data/vigil.sqlite", "run-2"), "x", age_s=0.0)  # judged so once: stays so while unchanged
    assert not watch.stopped(("/data/vigil.sqlite", "run-2"), "y", age_s=FIRST_SIGHT_STALE_S + 9)  # it beats again


@pytest.mark.parametrize("skew_s", [-600.0, 0.0, 600.0])  # the other host's clock 10 min behind, right, 10 min ahead
def test_another_hosts_run_is_interrupted_only_once_its_heartbeat_stops_changing_whatever_its_clock(tmp_path, skew_s):
    db, here = Database(tmp_path / "vigil.sqlite"), UTCClock(T0 + timedelta(days=30))
    there = lambda: here.now + timedelta(seconds=skew_s)  # noqa: E731 - the other host's clock, skewed
    writer = RunningAnalyses(db, me=ProcessStamp("vigil-b", 1, "b/1"), clock=there)
    reader = RunningAnalyses(db, clock=here, watch=HeartbeatWatch(here.mono))
    writer.begin("run-1", request())
    for _ in range(360):  # half an hour of beats every 5 s, read as a page polls
        here.advance(5)
        writer.progress("run-1", 0.5)
        assert reader.interrupted(ALICE) == []
    # it stops beating: interrupted after STALE_HEARTBEAT_S of watching, not sooner, not later
    here.advance(STALE_HEARTBEAT_S)
    assert reader.interrupted(ALICE) == []
    here.advance(1)
    assert [r.id for r in reader.interrupted(ALICE)] == ["run-1"]
    writer.progress("run-1", 0.6)  # it was only stalled: beats again
    assert reader.interrupted(ALICE) == []


def test_a_restarted_server_shows_day_old_runs_of_another_host_at_once_and_watches_recent_ones(tmp_path):
    db, clock = Database(tmp_path / "vigil.sqlite"), UTCClock()
    gone = RunningAnalyses(db, me=ProcessStamp("old-container", 1, "b/1"), clock=clock)
    gone.begin("day-old", request())
    clock.advance(FIRST_SIGHT_STALE_S - 3600)
    gone.begin("recent", request())
    clock.advance(3600 + 1)
    restarted = RunningAnalyses(db, clock=clock, watch=HeartbeatWatch(clock.mono))  # sees both for the first time
    assert [r.id for r in restarted.interrupted(ALICE)] == ["day-old"]
    clock.advance(STALE_HEARTBEAT_S + 1)
    assert [r.id for r in restarted.interrupted(ALICE)] == ["day-old", "recent"]


def test_a_container_recreated_under_a_new_host_name_shows_its_old_runs_once_their_heartbeat_is_stale(
    tmp_path, monkeypatch
):
    db, clock = Database(tmp_path / "vigil.sqlite"), UTCClock()
    old = RunningAnalyses(db, me=this_process(), clock=clock)  # the container before it was recreated
    old.begin("run-1", request())
    clock.advance(100)
    old.progress("run-1", 0.42)  # its last heartbeat
    monkeypatch.setattr("core.running.socket.gethostname", lambda: "vigil-7f9c2")  # recreated: another name
    new = RunningAnalyses(db, me=ProcessStamp("vigil-7f9c2", 1, "b/1"), clock=clock, watch=HeartbeatWatch(clock.mono))
    assert new.interrupted(ALICE) == []  # another server may still run it: its heartbeat has not been watched yet
    clock.advance(STALE_HEARTBEAT_S - 1)
    assert new.interrupted(ALICE) == []
    clock.advance(2)
    (run,) = new.interrupted(ALICE)
    assert (run.id, run.fraction, run.updated_at) == ("run-1", 0.42, (T0 + timedelta(seconds=100)).isoformat())
    assert new.dismiss(ALICE, "run-1").id == "run-1" and new.of_owner(ALICE) == []


def test_a_record_written_before_the_heartbeat_column_is_judged_by_its_start(tmp_path, monkeypatch):
    path = tmp_path / "vigil.sqlite"
    with sqlite3.connect(path) as con:  # the table as the previous release created it, one row in it
        con.execute(
            "CREATE TABLE running_analyses (id TEXT PRIMARY KEY, owner TEXT NOT NULL, label TEXT NOT NULL, "
            "model TEXT NOT NULL, scoring_json TEXT NOT NULL, events_json TEXT NOT NULL, source TEXT NOT NULL, "
            "source_uri TEXT, name TEXT, link INTEGER NOT NULL DEFAULT 0, needs_login INTEGER NOT NULL DEFAULT 0, "
            "upload INTEGER NOT NULL DEFAULT 0, overlay_on TEXT, started_at TEXT NOT NULL, "
            "fraction REAL NOT NULL DEFAULT 0, host TEXT NOT NULL, pid INTEGER NOT NULL, process_start TEXT NOT NULL)"
        )
        con.execute(
            "INSERT INTO running_analyses VALUES ('old', ?, 'yard.avi', 'motion', ?, ?, '/v/y.avi', NULL, NULL, 0, 0, "
            "0, NULL, ?, 0.5, 'gone-host', 1, 'x/1')",
            (ALICE, ScoringConfig().model_dump_json(), EventConfig().model_dump_json(), T0.isoformat()),
        )
    clock = UTCClock(T0 + timedelta(seconds=60))
    runs = RunningAnalyses(Database(path), clock=clock, watch=HeartbeatWatch(clock.mono))
    assert runs.interrupted(ALICE) == []  # its start counts as its one heartbeat: watched from now
    clock.advance(STALE_HEARTBEAT_S + 1)
    (run,) = runs.interrupted(ALICE)
    assert (run.id, run.updated_at, run.heartbeat) == ("old", T0.isoformat(), T0)


# --- interrupted runs age out ---------------------------------------------------------------------------------
DAY = 86400.0


def test_interrupted_runs_are_forgotten_after_the_keep_days_and_running_ones_never(vigil_env, monkeypatch):
    clock = UTCClock()
    gone = RunningAnalyses(me=gone_process(), clock=clock)
    gone.begin("old", request(ALICE))
    gone.begin("bobs", request(BOB))  # another user's: forgotten alike (nobody's list keeps it)
    gone.begin("recent", request(ALICE))
    live = RunningAnalyses(me=this_process(), clock=clock)
    live.begin("running", request(ALICE))  # under way for weeks (this process runs it): never dropped
    clock.advance(6 * DAY)
    gone.progress("recent", 0.9)  # its last heartbeat came a day before the interruption of "old" is a week old
    clock.advance(1 * DAY)
    assert gone.forget_expired() == []  # exactly 7 days: kept
    clock.advance(1)
    assert sorted(r.id for r in gone.forget_expired()) == ["bobs", "old"]
    assert [r.id for r in gone.of_owner(ALICE)] == ["recent", "running"] and gone.of_owner(BOB) == []
    assert gone.forget_expired() == []  # nothing twice
    clock.advance(30 * DAY)
    assert gone.forget_expired(keep_days=0) == []  # 0: kept until dismissed
    monkeypatch.setenv("VIGIL_INTERRUPTED_KEEP_DAYS", "0")
    assert gone.forget_expired() == []
    monkeypatch.setenv("VIGIL_INTERRUPTED_KEEP_DAYS", "1")
    assert [r.id for r in gone.forget_expired()] == ["recent"]
    assert [r.id for r in gone.of_owner(ALICE)] == ["running"]


def test_the_keep_days_setting_is_validated(vigil_env, monkeypatch):
    from core.errors import ConfigError
    from core.settings import settings

    assert settings().interrupted_keep_days == 7.0
    monkeypatch.setenv("VIGIL_INTERRUPTED_KEEP_DAYS", "-1")
    with pytest.raises(ConfigError, match="interrupted_keep_days|VIGIL_INTERRUPTED_KEEP_DAYS"):
        settings()
