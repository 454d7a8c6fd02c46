"""AppTest of the Archive page: a finished batch's ranking comes from the store, a job started on the page
runs in its own process (a fresh session sees it finish), folders outside the roots are refused, a
ranking link opens the results view at that moment, a batch with failures says what failed and why, and
a reload keeps the folder of the form."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from conftest import moving_square_frames, write_video
from streamlit.testing.v1 import AppTest

from core.batch import JobStore, collect_videos, run_batch
from core.batch.jobs import default_owner
from core.store import Store
from ui.charts import mmss

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


@pytest.fixture
def mixed(vigil_env) -> Path:
    """One good clip (8 s at 10 fps, a burst of fast motion), a text file named .mp4 and an empty .avi."""
    folder = vigil_env / "footage" / "mixed"
    folder.mkdir(parents=True)
    write_video(folder / "good.avi", moving_square_frames(n=80, fast_from=40, fast_to=56))
    (folder / "broken.mp4").write_text("not a video")
    (folder / "empty.avi").write_bytes(b"")
    return folder


def picker(at: AppTest):
    """The batch picker (its key carries the ``?job=`` it was drawn for)."""
    return next(sb for sb in at.selectbox if str(sb.key).startswith("archive.job."))


def progress_header(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


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
    assert list(ranked["peak"]) == [float(f"{p:.2f}") for p, _, _ in expected]  # the value the results print
    assert list(ranked["cause"]) == [c for _, _, c in expected] and all(ranked["cause"])  # the default says why
    first_id = expected[0][1]
    peak_t = max(store.load(first_id).segments, key=lambda s: s.peak).peak_t
    assert ranked["open"][0] == f"history?id={first_id}&t={peak_t:.2f}"
    assert all(str(u).startswith("data:image/jpeg;base64,") for u in ranked["thumbnail"])
    assert set(ranked["video"]) <= {"a.avi", "b.avi", "c.avi"}
    videos = frame(at, "status")
    assert list(videos["status"]) == ["done", "done", "done"]
    # each video's own peak (to rank whole videos), when it is, and its length (not the scoring seconds)
    recs = {Path(i.source).name: store.load(i.analysis_id) for i in JobStore(store.db).items(summary.job_id)}
    assert list(videos["peak"]) == [float(f"{recs[v].peak[0]:.2f}") for v in videos["video"]]  # as the results
    assert list(videos["length"]) == [mmss(recs[v].track.duration) for v in videos["video"]]
    assert {"seconds", "owner"}.isdisjoint(videos.columns) and all(s.endswith(" s") for s in videos["scored in"])
    for v, at_ in zip(videos["video"], videos["at"], strict=True):
        top = max(recs[v].segments, key=lambda s: s.peak, default=None)  # a segment's time: the ranking's
        assert at_ == mmss(top.peak_t if top and top.peak >= recs[v].peak[0] - 1e-9 else recs[v].peak[1])
    assert default_owner() not in picker(at).options[0]  # no login: not the server's OS account
    assert not any("Owner" in c.value or "Started by" in c.value for c in at.caption)
    assert [m.value for m in at.metric][:3] == ["3", "0", "0"]
    assert progress_header(at) == ":material/check_circle: done · 3 scored of 3"
    assert picker(at).options[0].endswith("· done · 3 scored of 3")  # not '0/3 videos'
    assert not at.warning

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


def test_a_batch_with_failures_says_what_succeeded_what_failed_and_why(mixed):
    store = Store()
    summary = run_batch(collect_videos([str(mixed)]), workers=1, store=store)
    assert (summary.done, summary.failed) == (1, 2)

    at = page()
    at.query_params["job"] = summary.job_id
    at.run()
    assert not at.exception, at.exception
    assert progress_header(at) == ":material/check_circle: done · 1 scored, 2 failed of 3"  # not 'done · 3/3 videos'
    assert picker(at).options[0].endswith("· done · 1 scored, 2 failed of 3")
    assert [w.value for w in at.warning] == [
        "2 of 3 videos could not be scored: the reasons are under the Videos table."
    ]
    videos = frame(at, "status")
    by_name = dict(zip(videos["video"], videos["open"], strict=True))
    assert by_name["broken.mp4"] == "" and by_name["empty.avi"] == ""  # no link (and no 'None') where nothing is stored
    assert by_name["good.avi"].startswith("history?id=")
    # every reason in full, outside the table's narrow cell
    why = next(e for e in at.expander if e.label.startswith("Why"))
    assert why.label == "Why 2 video(s) failed" and why.proto.expanded
    text = " ".join(m.value for m in why.text)  # plain text: names and ffmpeg's words are not Markdown
    assert "• broken.mp4: 'broken.mp4' is not a video this app can read. Pick a video file (mp4" in text
    assert "• empty.avi: 'empty.avi' is empty (0 bytes)." in text
    # the reason once (in that list), not again in a table column; no grey 'None' where a video has no peak
    table = next(df for df in at.dataframe if "status" in df.value.columns)
    assert "reason" not in table.proto.column_order and table.proto.placeholder == "—"
    assert list(videos["peak"].isna()) == [v != "good.avi" for v in videos["video"]]

    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Footage"] == "8 s"  # 80 frames at 10 fps, not '0.00 h'
    assert re.fullmatch(r"\d+(\.\d)?×", metrics["Throughput"]), metrics["Throughput"]
    assert all(len(v) <= 6 for v in metrics.values()), metrics  # a fifth of the page holds ~6 big characters
    assert "real time" in next(m for m in at.metric if m.label == "Throughput").help
    assert len(frame(at, "cause")) >= 1  # the good clip's burst is ranked


def _infos(at) -> list[str]:
    """The page's notes, without the model picker's (the default model here runs without its fight cue)."""
    return [i.value for i in at.info if not i.value.startswith("Fights are not looked for")]


def test_no_segment_says_yet_only_while_the_batch_runs(vigil_env):
    folder = vigil_env / "footage" / "calm"
    folder.mkdir(parents=True)
    write_video(folder / "still.avi", moving_square_frames(n=40, slow_speed=0))
    store = Store()
    summary = run_batch([str(folder / "still.avi")], workers=1, store=store)
    assert summary.done == 1 and not store.load(JobStore(store.db).analysis_ids(summary.job_id)[0]).segments

    at = page()
    at.query_params["job"] = summary.job_id
    at.run()
    assert _infos(at) == ["No anomalous segment in these videos."]

    jobs = JobStore(store.db)
    queued = jobs.create([str(folder / "still.avi")], "motion")  # nobody runs it: still active
    at = page()
    at.query_params["job"] = queued
    at.run()
    assert _infos(at) == ["No anomalous segment yet — the batch is still running."]
    # counts that move would go stale in the picker (both batches made this second: their order is not fixed)
    assert sum(o.endswith("· queued · 1 video") for o in picker(at).options) == 1
    assert progress_header(at) == ":material/hourglass_top: queued · 0 scored of 1 · 1 left"
    assert [m.value for m in at.metric][3:] == ["0 s", "…"]
    key_running = picker(at).key

    jobs.finish(queued, "done", {"footage_hours": 0.01, "footage_hours_per_hour": 9.0, "scoring_seconds": 4.0})
    jobs.reopen(queued)  # resumed: the summary of its run before is still stored
    at.run()
    assert [m.value for m in at.metric][4] == "…"  # not that run's speed while it runs again

    jobs.set_item(queued, 0, "skipped", analysis_id=jobs.analysis_ids(summary.job_id)[0])
    jobs.finish(queued, "done", {"footage_hours": 0.0, "scoring_seconds": 0.5})
    at.run()
    assert sum(o.endswith("· done · 0 scored, 1 already stored of 1") for o in picker(at).options) == 1
    assert picker(at).key != key_running  # a new key: the browser redraws a keyed select box's label only then
    assert _infos(at) == ["No anomalous segment in these videos."]
    # nothing scored in that run: the batch's speed over both runs (36 s of video in 4.5 s), not '—' nor '0.0×'
    assert [m.value for m in at.metric][3:] == ["0 s", "8.0×"]


def test_a_reload_keeps_the_folder_and_the_form_open(yard):
    jobs = JobStore()
    jobs.create([str(yard / "a.avi")], "motion")  # a batch exists: the form used to start collapsed
    at = page()
    at.run()
    assert not at.expander[0].proto.expanded  # a plain visit with batches to review: the form is out of the way
    at.text_input(key="archive.folder").set_value(str(yard)).run()
    assert at.query_params["folder"] == str(yard)  # typed once, kept in the URL

    reloaded = page()  # a browser reload: a new session over the same URL
    reloaded.query_params["folder"] = str(yard)
    reloaded.run()
    assert not reloaded.exception
    assert reloaded.expander[0].label == "New batch" and reloaded.expander[0].proto.expanded
    assert reloaded.text_input(key="archive.folder").value == str(yard)


@pytest.mark.slow
def test_retry_is_offered_for_what_can_pass_later_says_what_it_did_and_keeps_the_throughput(mixed):
    # a video that was missing when the batch ran (moved, an unmounted share) can pass on a retry; a text file
    # named .mp4 and an empty file fail the same way every time
    late = mixed / "late.avi"
    store = Store()
    summary = run_batch(collect_videos([str(mixed)]) + [str(late)], workers=1, store=store)
    assert (summary.done, summary.failed) == (1, 3)
    at = page()
    at.query_params["job"] = summary.job_id
    at.run()
    assert not at.exception, at.exception
    assert picker(at).options[0][:4].isdigit()  # the date first: no icon a select box cannot draw
    speed = {m.label: m.value for m in at.metric}["Throughput"]
    assert re.fullmatch(r"\d+(\.\d)?×", speed), speed
    retry = at.button(key=f"archive.resume.{summary.job_id}")
    assert retry.label == "Retry 1 failed"  # what a resume tries again: only the video that may pass
    assert not [i.value for i in at.info if "resume" in i.value]
    hint = " ".join(c.value for c in at.caption if c.value.startswith("Retrying will not help"))
    assert "broken.mp4, empty.avi: they fail the same way on every try" in hint and "late.avi" not in hint

    write_video(late, moving_square_frames(n=60, seed=5))  # the missing video is back
    retry.click().run()  # launches `python -m core batch --job ID`, as the page does
    assert not at.exception, at.exception
    jobs = JobStore(store.db)
    deadline = time.monotonic() + 120
    while jobs.get(summary.job_id).active and time.monotonic() < deadline:
        time.sleep(0.5)
    assert jobs.get(summary.job_id).status == "done"
    at.run()
    assert [i.value for i in at.info if "resume" in i.value] == ["The resume tried 1 video again: 1 scored."]
    videos = frame(at, "status")
    tries = dict(zip(videos["video"], videos["tries"], strict=True))
    assert tries == {"good.avi": 1, "broken.mp4": 1, "empty.avi": 1, "late.avi": 2}  # the unreadable ones not again
    after = {m.label: m.value for m in at.metric}["Throughput"]
    assert re.fullmatch(r"\d+(\.\d)?×", after), after  # not '—': the first run's scoring still counts
    # what is left failed for good: no button that would try the same unreadable files forever
    assert not [b for b in at.button if str(b.key).startswith("archive.resume.")]
    assert any(c.value.startswith("Retrying will not help broken.mp4, empty.avi") for c in at.caption)


def test_a_batch_with_nothing_left_offers_no_resume_and_metric_labels_fit_a_narrow_window(yard):
    store = Store()
    summary = run_batch([str(yard / "a.avi")], workers=1, store=store)
    at = page()
    at.query_params["job"] = summary.job_id
    at.run()
    assert not at.exception, at.exception
    assert not [b for b in at.button if str(b.key).startswith("archive.resume.")]
    # at 1024 px a metric is ~110 px wide: ~14 characters, ~10 beside its help icon ('Footage sc…' was cut)
    assert all(len(m.label) <= (10 if m.help else 14) for m in at.metric), [m.label for m in at.metric]


def test_the_ranking_wraps_long_file_names_and_still_fits_a_1024_px_window(vigil_env):
    folder = vigil_env / "footage" / "north"
    folder.mkdir(parents=True)
    name = "parking_lot_north_entrance_camera_02_2026-11-21_08-00.avi"  # 58 characters
    write_video(folder / name, moving_square_frames(n=80, fast_from=40, fast_to=56))
    summary = run_batch([str(folder / name)], workers=1, store=Store())
    at = page()
    at.query_params["job"] = summary.job_id
    at.run()
    assert not at.exception, at.exception
    table = next(df for df in at.dataframe if "cause" in df.value.columns)
    config = json.loads(table.proto.columns)
    widths = {c: config[c]["width"] for c in table.proto.column_order}
    assert list(table.value["video"]) == [name] * len(table.value)  # the name, not its folder
    # Streamlit wraps a table's text only in rows taller than 64 px (4rem): at 64 the name was cut after ~14
    # characters; now four lines of ~19 characters each
    assert table.proto.row_height > 64
    assert next(df for df in at.dataframe if "status" in df.value.columns).proto.row_height > 64  # the Videos table
    assert widths["video"] * 4 >= 8 * len(name), widths  # ~8 px a character
    assert all(" – " in s for s in table.value["segment"])  # '0:04.0 – 0:05.6' breaks in two in its narrow column
    # the columns and the row markers (~33 px) still fit the ~560 px a 1024 px window leaves beside the sidebar
    assert sum(widths.values()) + 33 <= 562, widths
    videos = next(df for df in at.dataframe if "status" in df.value.columns)
    config = json.loads(videos.proto.columns)
    order = list(videos.proto.column_order)
    key = ["video", "status", "open", "peak", "at", "length", "scored in"]
    assert order[: len(key)] == key, order  # what a glance needs first, before the long reason and path
    assert sum(config[c]["width"] for c in key) <= 562, {c: config[c]["width"] for c in key}


def test_videos_of_history_are_named_as_they_were_uploaded_not_by_their_hashed_file(vigil_env):
    """An upload is kept under its hash ("045d3fb8d2….avi"); the Videos table, the failure list and the ranking
    name it as the user did."""
    uploads = vigil_env / "uploads"
    uploads.mkdir(parents=True)
    kept = uploads / "045d3fb8d2e1a9c0.avi"
    write_video(kept, moving_square_frames(n=80, fast_from=40, fast_to=56))
    store = Store()
    from core.engine import analyze

    rec = analyze(str(kept), store=store)
    with store.db.connect() as con:
        con.execute("UPDATE analyses SET source_name='loading-bay.avi' WHERE id=?", (rec.id,))
    summary = run_batch([path for path, _, _ in store.videos()], workers=1, store=store)
    at = page()
    at.query_params["job"] = summary.job_id
    at.run()
    assert not at.exception, at.exception
    assert list(frame(at, "status")["video"]) == ["loading-bay.avi"]
