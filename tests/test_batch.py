"""Batch scoring on the local engine: one task per video, the driver alone writes the store, a re-run
does no new work, failures are reported and the batch goes on, a dead worker's video is retried once,
cancel and Ctrl-C keep what finished (never a half record), and no Ray is imported on this path."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, http_server, shared_path

from core.batch import JobStore, collect_videos, run_batch, run_job
from core.batch.jobs import legacy_retryable
from core.batch.local import LocalEngine
from core.config import ScoringConfig
from core.db import Database
from core.engine import analyze
from core.errors import (
    AnalysisCancelled,
    DataError,
    EmptyFileError,
    ModelUnavailableError,
    NetworkError,
    NotAVideoError,
    SourceError,
    StillImageError,
    StorageError,
    TooFewFramesError,
    TooLongError,
    UnavailableVideoError,
    UnknownModelError,
    VigilError,
    retryable,
)
from core.labels import ForbiddenFolderError
from core.store import Store

PY = sys.executable


def fight_clips(n: int = 10) -> list[Path]:
    folder = shared_path("data", "fights", "fight")
    return sorted(folder.glob("fi*.mp4"))[:n]


@pytest.fixture
def archive(tmp_path) -> Path:
    """A folder of 10 fight clips (links to ../shared) and one broken file, in a nested layout."""
    root = tmp_path / "archive"
    (root / "cam1").mkdir(parents=True)
    (root / "cam2").mkdir()
    for i, clip in enumerate(fight_clips()):
        (root / ("cam1" if i < 5 else "cam2") / clip.name).symlink_to(clip)
    (root / "cam2" / "broken.mp4").write_text("this is not a video")
    return root


def stored_ids(store: Store) -> set[str]:
    return {r["id"] for r in store.list()}


@pytest.mark.slow
def test_local_batch_stores_each_video_as_analyze_does_and_a_rerun_does_no_new_work(archive):
    store = Store()
    sources = collect_videos([archive])
    assert len(sources) == 11 and sum(s.endswith("broken.mp4") for s in sources) == 1

    engine = LocalEngine(2)
    seen_files: set[str] = set()

    def progress(p):  # what the workers have open while they score: never the database
        for pid in filter(None, (engine.pid_of(i) for i in range(len(sources)))):
            fds = Path(f"/proc/{pid}/fd")
            for fd in fds.iterdir() if fds.is_dir() else []:
                try:
                    seen_files.add(os.readlink(fd))
                except OSError:
                    pass

    first = run_batch(sources, engine=engine, store=store, progress=progress)
    assert (first.done, first.skipped, first.failed) == (10, 0, 1)
    assert seen_files  # the check did look inside the workers
    assert not [f for f in seen_files if "vigil.sqlite" in f]
    assert first.failures[0]["source"].endswith("broken.mp4")
    assert "not a video" in first.failures[0]["reason"] and "\n" not in first.failures[0]["reason"]
    ids = stored_ids(store)
    assert len(ids) == 10
    assert first.footage_hours > 0 and first.footage_hours_per_hour > 0

    # the same scores as Analyze of the same file (same engine function), stored the same way
    rec = store.load(next(r["id"] for r in store.list() if r["source_name"] == "fi003.mp4"))
    ref = analyze(rec.video_path, store=Store(_other_db(store)), reuse=False)
    assert np.array_equal(rec.track.score, ref.track.score)
    assert rec.segments == ref.segments and sorted(rec.thumbnails) == sorted(ref.thumbnails)
    assert all(p.is_file() for p in rec.thumbnails.values())

    again = run_batch(sources, engine="local", workers=2, store=store)
    assert (again.done, again.skipped, again.failed) == (0, 10, 1)
    assert stored_ids(store) == ids  # nothing scored twice
    jobs = JobStore(store.db)
    assert sorted(jobs.analysis_ids(again.job_id)) == sorted(ids)
    job = jobs.get(again.job_id)
    assert job.status == "done" and job.owner and job.counts["skipped"] == 10 and job.counts["failed"] == 1


def _other_db(store: Store):
    from core.db import Database

    return Database(store.db.root.parent / "reference" / "vigil.sqlite")


@pytest.mark.slow
def test_cancel_keeps_finished_videos_and_no_half_record_and_a_resume_does_the_rest(archive):
    store = Store()
    sources = [s for s in collect_videos([archive]) if not s.endswith("broken.mp4")]
    jobs = JobStore(store.db)
    asked: list[str] = []

    def progress(p):
        if p.done >= 3 and not asked:  # as the Archive page's Cancel does, from another process
            asked.append(jobs.list()[0].id)
            jobs.request_cancel(asked[0])

    summary = run_batch(sources, workers=1, store=store, progress=progress)
    assert summary.cancelled and asked == [summary.job_id]
    ids = stored_ids(store)
    assert 3 <= len(ids) < 10 and summary.done == len(ids)
    assert store.sweep() == 0  # no folder of an unfinished save left behind
    for i in ids:
        rec = store.load(i)
        assert len(rec.track) > 0 and all(p.is_file() for p in rec.thumbnails.values())
    job = jobs.get(summary.job_id)
    assert job.status == "cancelled" and job.counts["running"] == 0
    assert job.counts["done"] == len(ids) and job.counts["pending"] == 10 - len(ids)

    jobs.reopen(summary.job_id)  # what Resume on the page (or batch --job ID) does first
    resumed = run_job(summary.job_id, store=store)
    assert resumed.done == 10 - len(ids) and not resumed.failed
    assert len(stored_ids(store)) == 10 and stored_ids(store) >= ids
    assert jobs.get(summary.job_id).status == "done"


@pytest.mark.slow
def test_a_worker_that_dies_mid_video_is_retried_once_then_reported(tmp_path, make_video, vtest):
    store = Store()
    killed_once = tmp_path / "once.avi"
    killed_always = tmp_path / "always.avi"
    shutil.copy(vtest, killed_once)
    make_video("always.avi", n=900)
    short = fight_clips(3)
    sources = [str(killed_once), str(killed_always), *map(str, short)]
    engine = LocalEngine(2)
    plan = {0: 1, 1: 2}  # video index -> how many times its worker is killed while scoring it
    killed: list[int] = []
    seen: set[int] = set()

    def progress(p):
        for index, times in plan.items():
            pid = engine.pid_of(index)
            if pid and pid not in seen and killed.count(index) < times:
                seen.add(pid)
                killed.append(index)
                os.kill(pid, signal.SIGKILL)

    summary = run_batch(sources, engine=engine, store=store, progress=progress)
    assert sorted(killed) == [0, 1, 1]
    assert summary.done == 4 and summary.failed == 1
    assert summary.failures[0]["source"] == str(killed_always)
    assert "died" in summary.failures[0]["reason"] and "both tries" in summary.failures[0]["reason"]
    items = {i.index: i for i in JobStore(store.db).items(summary.job_id)}
    assert items[0].status == "done" and items[0].attempts == 2
    assert items[1].status == "failed" and items[1].attempts == 2
    assert {r["source_name"] for r in store.list()} == {"once.avi", *(c.name for c in short)}


@pytest.mark.slow
def test_dead_link_and_missing_listed_file_fail_alone(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    clip = fight_clips(1)[0]
    shutil.copy(clip, site / "ok.mp4")
    with http_server(site) as url:
        listing = tmp_path / "videos.txt"
        listing.write_text(f"# cameras\n{url}/ok.mp4\n{url}/gone.mp4\nmissing.mp4\n")
        sources = collect_videos([listing])
        assert sources == [f"{url}/ok.mp4", f"{url}/gone.mp4", str(tmp_path / "missing.mp4")]
        summary = run_batch(sources, workers=2, store=Store())
    assert summary.done == 1 and summary.failed == 2
    reasons = {f["source"]: f["reason"] for f in summary.failures}
    assert "404" in reasons[f"{url}/gone.mp4"]
    assert "not found" in reasons[str(tmp_path / "missing.mp4")].lower()


def test_bad_inputs_are_one_clear_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no videos"):
        collect_videos([empty])
    with pytest.raises(DataError, match="does not exist"):
        collect_videos([tmp_path / "nowhere"])
    with pytest.raises(DataError, match="No file matches"):
        collect_videos([str(tmp_path / "*.mp4")])
    inside = tmp_path / "roots"
    inside.mkdir()
    with pytest.raises(ForbiddenFolderError, match="outside the allowed"):
        collect_videos([shared_path("data", "fights", "fight")], roots=[inside])


def test_a_glob_and_a_frame_folder_are_one_video_each(ucsd):
    frames = ucsd / "testing" / "frames"
    got = collect_videos([str(frames / "0[12]")])
    assert got == [str(frames / "01"), str(frames / "02")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, env_extra: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [PY, "-m", "core", "batch", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_cli_batch_json_summary_and_no_ray_import_on_the_local_path(archive, tmp_path):
    out = tmp_path / "summary.json"
    # run the CLI's main in a fresh interpreter and check which modules it imported
    code = (
        "import sys; from core.cli import main; rc = main(sys.argv[1:]); "
        "print('RAY_IMPORTED' if any(m == 'ray' or m.startswith('ray.') for m in sys.modules) else 'NO_RAY'); "
        "sys.exit(rc)"
    )
    proc = subprocess.run(
        [PY, "-c", code, "batch", str(archive), "--workers", "2", "--json", str(out), "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 1, proc.stderr  # one video failed
    assert "NO_RAY" in proc.stdout
    assert "failed: " in proc.stdout and "broken.mp4" in proc.stdout
    summary = json.loads(out.read_text())
    assert (summary["videos"], summary["done"], summary["failed"]) == (11, 10, 1)
    assert summary["engine"] == "local" and summary["workers"] == 2
    for key in ("seconds", "videos_per_s", "footage_hours", "footage_hours_per_hour"):
        assert summary[key] > 0, key


@pytest.mark.parametrize(
    "args, message",
    [
        (["{empty}"], "holds no videos"),
        (["{missing}"], "does not exist"),
        (["{archive}", "--model", "no-such-model"], "no-such-model"),
        (["{archive}", "--gpus-per-worker", "1"], "needs --engine ray"),
        (["{archive}", "--engine", "ray"], "Cannot reach the Ray cluster"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_and_nothing_stored(archive, tmp_path, vigil_env, args, message):
    (tmp_path / "empty").mkdir()
    fill = {"empty": tmp_path / "empty", "missing": tmp_path / "missing", "archive": archive}
    # an unreachable cluster: a port on this machine that nobody listens on
    env = {"RAY_ADDRESS": f"127.0.0.1:{free_port()}"}
    proc = run_cli(*[a.format(**fill) for a in args], "--quiet", env_extra=env)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    db = vigil_env / "vigil.sqlite"
    if db.exists():
        from core.batch import JobStore
        from core.db import Database

        assert Store(Database(db)).list() == [] and JobStore(Database(db)).list() == []


@pytest.mark.slow
def test_ctrl_c_keeps_finished_videos_and_exits_130(archive, vigil_env):
    proc = subprocess.Popen(
        [PY, "-m", "core", "batch", str(archive), "--workers", "1", "--quiet"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = Store()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if (vigil_env / "vigil.sqlite").exists() and len(store.list()) >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    kept = store.list()
    assert 2 <= len(kept) < 10
    assert store.sweep() == 0
    job = JobStore(store.db).list()[0]
    assert job.status == "cancelled" and job.counts["done"] == len(kept) and job.counts["running"] == 0


def test_run_job_reports_a_model_that_cannot_run_on_the_job(tmp_path):
    store = Store()
    jobs = JobStore(store.db)
    job_id = jobs.create([str(c) for c in fight_clips(1)], "no-such-model", scoring=ScoringConfig())
    with pytest.raises(VigilError, match="no-such-model"):
        run_job(job_id, store=store)
    job = jobs.get(job_id)
    assert job.status == "failed" and "no-such-model" in job.error and store.list() == []


def test_a_worker_skips_what_is_stored_under_the_version_its_own_scorer_reports(monkeypatch):
    """vigil's version names the cues present ("1:objects", "1:objects+fight.fight-movinet.3"), not the catalogue's "1":
    the skip set must use the version the worker's scorer reports, or every re-run scores everything again."""
    from core.batch.driver import worker_spec
    from core.batch.worker import BatchWorker, VideoTask
    from core.registry import get_spec

    monkeypatch.setenv("VIGIL_MODELS_DIR", str(shared_path("models")))
    clip = str(fight_clips()[0])
    store = Store()
    rec = analyze(clip, store=store)  # the default model, as a batch would run it
    assert rec.model == "vigil" and rec.model_version != get_spec("vigil").version
    worker = BatchWorker(worker_spec("vigil", ScoringConfig(), rec.events, store))
    out = worker.run(VideoTask(0, clip))
    assert (out.status, out.computed, out.model_version) == ("skipped", None, rec.model_version)


class _InlineEngine:
    """One in-process worker whose outcomes are ready at once; logs submits, and takes 0.3 s to stop."""

    name = "inline"
    workers = 1

    def __init__(self, log: list[str]):
        self.log, self._ready = log, []

    def start(self, spec):
        from core.batch.worker import BatchWorker

        self._worker = BatchWorker(spec)

    def idle(self) -> int:
        return 0 if self._ready else 1

    def submit(self, task) -> None:
        self.log.append(f"submit {task.index}")
        self._ready.append(self._worker.run(task))

    def poll(self, timeout: float):
        from core.batch.worker import Finished

        done, self._ready = self._ready, []
        return [Finished(o) for o in done]

    def stop(self) -> None:
        time.sleep(0.3)


def test_a_freed_worker_gets_its_next_video_before_the_driver_saves_and_stopping_is_not_scoring(monkeypatch):
    import cv2

    import core.batch.driver as driver

    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))  # the worker sets it
    threads = cv2.getNumThreads()
    log: list[str] = []
    real_save = driver.save_analysis

    def save(store, computed):
        log.append(f"save {Path(computed.record.source_name).name}")
        return real_save(store, computed)

    monkeypatch.setattr(driver, "save_analysis", save)
    clips = fight_clips(2)
    try:
        s = run_batch([str(c) for c in clips], model="motion", engine=_InlineEngine(log), store=Store())
    finally:
        cv2.setNumThreads(threads)
    assert s.done == 2
    # video 1 is handed out before video 0's result is written: the worker never waits on the store
    assert log == ["submit 0", "submit 1", f"save {clips[0].name}", f"save {clips[1].name}"]
    assert s.shutdown_seconds >= 0.3 and s.scoring_seconds <= s.seconds - s.startup_seconds - 0.3


def test_retrying_a_failed_video_counts_its_tries_on_and_keeps_the_batch_throughput(tmp_path, make_video):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(make_video("good.avi", n=80), folder / "good.avi")
    missing = folder / "unmounted.avi"  # a share not mounted yet: may pass later, so a resume tries it again
    store = Store()
    jobs = JobStore(store.db)
    first = run_batch([*collect_videos([folder]), str(missing)], workers=1, store=store)
    assert (first.done, first.failed, first.todo) == (1, 1, 2)
    speed = jobs.get(first.job_id).footage_hours_per_hour
    assert speed and speed > 0

    jobs.reopen(first.job_id)  # the page's 'Retry 1 failed'
    retry = run_job(first.job_id, store=store)
    assert (retry.todo, retry.done, retry.skipped, retry.failed) == (1, 0, 1, 1)
    job = jobs.get(first.job_id)
    assert job.runs == 2 and (job.counts["done"], job.counts["failed"]) == (1, 1)
    failed = next(i for i in jobs.items(first.job_id) if i.status == "failed")
    assert failed.attempts == 2  # the second try shows, though the counts did not move
    # both runs' scoring time over the one video scored: lower than the first run's alone, never gone
    assert job.footage_hours_per_hour is not None and 0 < job.footage_hours_per_hour <= speed


# --- which failures a resume tries again ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "helps"),
    [
        (NotAVideoError("'x.mp4' is not a video this app can read."), False),
        (EmptyFileError("'e.avi' is empty (0 bytes)."), False),
        (StillImageError("'p.png' is a still image, not a video."), False),
        (TooFewFramesError("'one.mp4' has a single frame; a video needs at least two."), False),
        (TooLongError("The video at that link lasts 9000 s; the limit is 3600 s."), False),
        (UnavailableVideoError("That video is private."), False),
        (ModelUnavailableError("Model 'movinet' cannot run here: its weights are missing."), False),
        (UnknownModelError("Unknown model 'nope'."), False),
        (NetworkError("Could not fetch this link."), True),
        (SourceError("File not found: /mnt/share/cam1.mp4"), True),  # an unmounted share, a file put back
        (StorageError("The disk holding /data is full: free some space and try again."), True),
        (AnalysisCancelled("Stopped."), True),  # an interrupted run
        (TimeoutError("timed out"), True),
        (MemoryError(), True),
        (RuntimeError("a bug a fix may remove"), True),
    ],
)
def test_a_failure_is_worth_a_retry_by_its_errors_type(error, helps):
    assert retryable(error) is helps


NOT_A_VIDEO = "'broken.mp4' is not a video this app can read."


@pytest.mark.parametrize(
    ("reason", "helps"),
    [
        (NOT_A_VIDEO, False),
        (NOT_A_VIDEO + " Pick a video file (mp4, avi, mkv, mov…).", False),  # with a next step after it
        ("'x.mp4' is not a video this app can read (no frame decodes).", False),
        ("'e.avi' is empty (0 bytes).", False),
        ("'p.png' is a still image, not a video.", False),
        ("'one.mp4' has a single frame; a video needs at least two.", False),
        ("Folder 'f' holds no video and no numbered images.", False),
        ("Could not fetch this link.", True),  # the network
        ("File not found: /mnt/share/cam1.mp4", True),  # an unmounted share, a file put back
        ("Cannot read '/f/a.mp4': permission denied.", True),
        ("the worker process died (exit code -9) while scoring it, on both tries", True),  # interrupted
        ("The data folder is full: free some space.", True),  # storage
    ],
)
def test_a_failure_stored_before_the_flag_is_judged_by_its_words(reason, helps):
    assert legacy_retryable(reason) is helps


def dead_pid() -> int:
    proc = subprocess.Popen([PY, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_resume_rescores_only_the_interrupted_video_not_the_unreadable_file(tmp_path, make_video):
    folder = tmp_path / "cam"
    folder.mkdir()
    (folder / "broken.mp4").write_text("not a video")
    late = folder / "late.avi"  # missing at first (an unmounted share), so the first run fails it: a retry may pass
    store = Store()
    jobs = JobStore(store.db)
    first = run_batch([str(folder / "broken.mp4"), str(late)], model="motion", workers=1, store=store)
    assert (first.done, first.failed) == (0, 2)
    assert {Path(f["source"]).name: f["retryable"] for f in first.failures} == {"broken.mp4": False, "late.avi": True}
    assert [(i.status, i.retryable) for i in jobs.items(first.job_id)] == [("failed", False), ("failed", True)]

    # a resume that was killed while it scored late.avi: its driver's pid is gone, the video still 'running'
    shutil.copy(make_video("late.avi", n=60), late)
    jobs.reopen(first.job_id)
    jobs.mark_running(first.job_id, pid=dead_pid())
    jobs.set_item(first.job_id, 1, "running", attempts=2)
    assert jobs.get(first.job_id).status == "interrupted"

    jobs.reopen(first.job_id)  # the page's Resume
    resumed = run_job(first.job_id, store=store)
    assert (resumed.todo, resumed.done, resumed.failed, resumed.hopeless) == (1, 1, 0, 1)
    broken, scored = jobs.items(first.job_id)
    assert (broken.status, broken.attempts, broken.retryable) == ("failed", 1, False)  # not tried again
    assert scored.status == "done" and scored.attempts == 3 and len(stored_ids(store)) == 1
    assert jobs.get(first.job_id).status == "done"


def test_failures_stored_before_the_flag_get_it_once_from_their_words_and_a_resume_follows_it(tmp_path, make_video):
    store = Store()
    jobs = JobStore(store.db)
    good = make_video("good.avi", n=60)
    sources = [str(tmp_path / "broken.mp4"), str(good), str(tmp_path / "gone.avi")]
    job_id = jobs.create(sources, "motion", workers=1)
    jobs.set_item(job_id, 0, "failed", reason="'broken.mp4' is not a video this app can read.", attempts=1)
    jobs.set_item(job_id, 1, "failed", reason="the worker process died (exit code -9) while scoring it, on both tries")
    jobs.set_item(job_id, 2, "failed", reason="'gone.avi' is empty (0 bytes).", attempts=1)
    jobs.finish(job_id, "done")
    with sqlite3.connect(store.db.path) as con:  # the table as a version before the flag stored it
        con.execute("ALTER TABLE batch_items DROP COLUMN retryable")

    old = Database(store.db.path)  # a server started after the upgrade: adds the column and fills it
    assert [i.retryable for i in JobStore(old).items(job_id)] == [False, True, False]
    JobStore(old).set_item(job_id, 2, "failed", reason="'gone.avi' is empty (0 bytes).", retryable=True)
    again = JobStore(Database(store.db.path))  # derived once: a later start does not judge the words again
    assert [i.retryable for i in again.items(job_id)] == [False, True, True]

    again.set_item(job_id, 2, "failed", reason="'gone.avi' is empty (0 bytes).", retryable=False)
    again.reopen(job_id)
    resumed = run_job(job_id, store=Store(Database(store.db.path)))
    assert (resumed.todo, resumed.done, resumed.hopeless) == (1, 1, 2)
    assert [i.status for i in again.items(job_id)] == ["failed", "done", "failed"]


def test_the_cli_resume_of_a_job_left_with_unreadable_files_says_so_and_exits_1(tmp_path, make_video, capsys):
    from core.cli import main

    store = Store()
    (tmp_path / "broken.mp4").write_text("not a video")
    first = run_batch([str(tmp_path / "broken.mp4"), str(make_video("good.avi", n=60))], workers=1, store=store)
    assert (first.done, first.failed) == (1, 1)
    capsys.readouterr()
    assert main(["batch", "--job", first.job_id, "--quiet"]) == 1  # nothing was tried, yet the job is not all scored
    out = capsys.readouterr().out
    assert "0 scored, 1 already stored, 0 failed (and 1 that failed before in a way no retry helps) of 2" in out
