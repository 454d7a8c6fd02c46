"""The Archive page's wording: footage in a unit that suits it, speed as a factor of real time, and a batch's
progress that says what succeeded and what failed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.access import Identity
from core.batch import BatchItem, JobStore
from ui.archive_view import (
    batch_label,
    counts_text,
    footage_text,
    hopeless_text,
    last_run_text,
    no_segment_text,
    owner_text,
    progress_text,
    resume_label,
    speed_text,
    video_rows,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (8.0, "8 s"), (59.4, "59 s"), (150, "2.5 min"), (3599, "60.0 min"), (4500, "1.25 h"),
     (36_000, "10.0 h"), (5_800 * 3600, "5800 h"), (-1, "0 s")],
)  # fmt: skip
def test_footage_text(seconds, text):
    assert footage_text(seconds) == text


@pytest.mark.parametrize(("rate", "text"), [(0, "0.0×"), (9.64, "9.6×"), (47.2, "47×"), (75_000, "75000×")])
def test_speed_text(rate, text):
    assert speed_text(rate) == text


def job_with(jobs: JobStore, statuses: list[str], status: str = "done"):
    job_id = jobs.create([f"/v/{i}.avi" for i in range(len(statuses))], "motion")
    for i, s in enumerate(statuses):
        jobs.set_item(job_id, i, s)
    if status != "queued":
        jobs.finish(job_id, status)
    return jobs.get(job_id)


def test_progress_says_what_succeeded_and_what_failed():
    jobs = JobStore()
    mixed = job_with(jobs, ["done", "failed", "failed"])
    assert progress_text(mixed) == "done · 1 scored, 2 failed of 3"
    assert batch_label(mixed).endswith("· motion · local · done · 1 scored, 2 failed of 3")
    assert no_segment_text(mixed) == "No anomalous segment in these videos."
    stored = job_with(jobs, ["skipped", "done", "pending"], "cancelled")
    assert counts_text(stored) == "1 scored, 1 already stored of 3 · 1 left"
    assert "resume" in no_segment_text(stored)
    all_failed = job_with(jobs, ["failed"])
    assert no_segment_text(all_failed) == "No video of this batch was scored, so there is no segment to rank."
    queued = job_with(jobs, ["pending", "pending"], "queued")
    assert batch_label(queued).endswith("· queued · 2 videos") and "0 scored" not in batch_label(queued)
    assert no_segment_text(queued) == "No anomalous segment yet — the batch is still running."


@pytest.mark.parametrize(
    ("statuses", "status", "label"),
    [
        (["done", "skipped", "failed"], "done", "Retry 1 failed"),
        (["done", "pending", "pending"], "cancelled", "Resume 2 left"),
        (["running", "failed", "failed"], "interrupted", "Resume 1 left, retry 2 failed"),
        (["done", "skipped"], "done", None),  # nothing a resume could do: no button
        (["done", "skipped"], "cancelled", None),
        (["pending", "failed"], "queued", None),  # it runs: Cancel, not Resume
        ([], "done", None),
    ],
)
def test_resume_says_what_it_will_do_and_is_offered_only_when_it_can_do_something(statuses, status, label):
    job = job_with(JobStore(), statuses, status)
    assert resume_label(job) == label


NOT_A_VIDEO = "'broken.mp4' is not a video this app can read."


def test_failures_a_retry_cannot_change_get_no_retry_button_and_are_named():
    jobs = JobStore()
    hopeless = job_with(jobs, ["done", "failed", "failed"])  # both not a video: retrying fails the same way
    assert resume_label(hopeless, hopeless=2) is None
    mixed = job_with(jobs, ["done", "failed", "failed"])  # one of them could pass (a network error)
    assert resume_label(mixed, hopeless=1) == "Retry 1 failed"  # a resume tries only the one that may pass
    left = job_with(jobs, ["pending", "failed"], "cancelled")
    assert resume_label(left, hopeless=1) == "Resume 1 left"  # no 'retry' for the one that cannot change
    items = [
        item(0, "failed", reason=NOT_A_VIDEO, retryable=False),
        # the page goes by core's flag, not by the words: these read like a bad file, yet a retry may pass
        item(1, "failed", reason=NOT_A_VIDEO, retryable=True),
        item(2, "done", "a"),
    ]
    assert hopeless_text(items) == (
        "Retrying will not help 0.mp4: it fails the same way on every try (the reason is above). Fix or replace it, "
        "then start the batch again (videos already scored are skipped)."
    )
    assert hopeless_text(items[1:]) is None
    many = [item(k, "failed", reason="Could not fetch this link.", retryable=False) for k in range(7)]
    assert hopeless_text(many).startswith("Retrying will not help 0.mp4, 1.mp4, 2.mp4, 3.mp4, 4.mp4 and 2 more: they")


def summary_of_run(todo: int, done: int, skipped: int, failed: int, footage_h: float, scoring_s: float) -> dict:
    """The fields of ``BatchSummary.to_dict()`` the page reads, for a batch of 3 videos."""
    return {"videos": 3, "todo": todo, "done": done, "skipped": skipped, "failed": failed,
            "footage_hours": footage_h, "scoring_seconds": scoring_s}  # fmt: skip


def test_throughput_outlives_a_resume_that_scores_nothing_and_the_resume_says_what_it_did():
    jobs = JobStore()
    job_id = job_with(jobs, ["done", "skipped", "failed"], "queued").id
    jobs.finish(job_id, "done", summary_of_run(3, 1, 1, 1, footage_h=8 / 3600, scoring_s=1.8))
    first = jobs.get(job_id)
    assert speed_text(first.footage_hours_per_hour) == "4.4×"  # 8 s of video in 1.8 s
    assert first.runs == 1 and last_run_text(first) is None  # a first run is not a resume

    jobs.reopen(job_id)  # Retry 1 failed: the text file is still no video
    assert last_run_text(jobs.get(job_id)) is None  # while it runs
    jobs.finish(job_id, "done", summary_of_run(1, 0, 2, 1, footage_h=0.0, scoring_s=0.2))
    resumed = jobs.get(job_id)
    assert resumed.footage_hours_per_hour == pytest.approx(8 / 2.0)  # 8 s of video over both runs' 2 s, not None
    assert speed_text(resumed.footage_hours_per_hour) == "4.0×"
    assert resumed.runs == 2
    assert last_run_text(resumed) == "The resume tried 1 video again: 1 failed."

    jobs.reopen(job_id)  # a resume that cannot even start (the model is gone) records no summary of its own
    jobs.finish(job_id, "failed", error="Unknown model")
    assert jobs.get(job_id).footage_hours_per_hour == pytest.approx(4.0)

    never = job_with(jobs, ["failed"], "queued").id
    jobs.finish(never, "done", {"videos": 1, "todo": 1, "failed": 1, "footage_hours": 0.0, "scoring_seconds": 0.3})
    assert jobs.get(never).footage_hours_per_hour is None  # nothing scored: '—', not '0.0×'


def test_a_resume_that_scored_and_found_stored_videos_says_so():
    jobs = JobStore()
    job_id = job_with(jobs, ["done", "pending", "pending"], "queued").id
    jobs.finish(job_id, "cancelled", summary_of_run(3, 1, 0, 0, footage_h=0.01, scoring_s=5))
    jobs.reopen(job_id)
    jobs.finish(job_id, "done", summary_of_run(2, 1, 2, 0, footage_h=0.01, scoring_s=5))  # 1 before + 1 found now
    assert last_run_text(jobs.get(job_id)) == "The resume tried 2 videos again: 1 scored, 1 already stored."


def test_a_resume_that_left_a_hopeless_failure_as_it_was_does_not_count_it_as_stored():
    jobs = JobStore()
    job_id = job_with(jobs, ["failed", "pending", "done"], "queued").id
    jobs.finish(job_id, "interrupted", summary_of_run(3, 1, 0, 1, footage_h=0.01, scoring_s=5))
    jobs.reopen(job_id)
    # the resume tried the one left; the unreadable file stayed failed (hopeless), the done one was finished before
    run = summary_of_run(1, 1, 1, 0, footage_h=0.01, scoring_s=5) | {"hopeless": 1}
    jobs.finish(job_id, "done", run)
    assert last_run_text(jobs.get(job_id)) == "The resume tried 1 video again: 1 scored."


# what Debian's chromium draws as an empty box for want of an emoji font
EMOJI = re.compile("[\u2300-\u23ff\u2460-\u27bf\u2b00-\u2bff\ufe0f\U0001f000-\U0001faff]")


@pytest.mark.parametrize("path", ["app_pages/archive.py", "ui/archive_view.py"])
def test_the_archive_page_draws_no_emoji(path):
    found = EMOJI.findall((REPO / path).read_text(encoding="utf-8"))
    assert not found, f"{path} draws emoji {found}: use Material icons (':material/...:') where Markdown is rendered"


def test_owner_reads_as_who_started_it_and_not_the_servers_account():
    local, me = Identity.local(), Identity("ana@example.org")
    # no login: everyone is the one local user, so the OS account the batch recorded ('root') says nothing
    assert owner_text("root", local) == "" and owner_text("ana@example.org", local) == ""
    assert owner_text("ana@example.org", me) == "you"
    assert owner_text("bo@example.org", me) == "bo@example.org"
    assert owner_text("root", me) == "local user"  # started without login (a terminal, before login was on)
    job = job_with(JobStore(), ["done"])
    assert batch_label(job, owner="").count(" · ") == 4  # when · model · engine · status · counts: no owner
    assert " · you · motion · local · done" in batch_label(job, owner="you")
    assert job.owner not in batch_label(job)


def item(idx, status, analysis_id=None, seconds=0.0, footage=0.0, reason="", retryable=True):
    return BatchItem(idx, f"/footage/{idx}.mp4", status, analysis_id, reason, 1, seconds, footage, retryable)


def test_video_rows_say_length_scoring_time_and_the_videos_peak():
    items = [
        item(0, "done", "a", seconds=0.94, footage=2.44),
        item(1, "skipped", "b"),  # found stored: no scoring time of this batch
        item(2, "failed", reason="not a video"),
    ]
    rows = video_rows(items, {"a": (2.44, 0.73514, 0.36), "b": (75.0, 0.4321, 61.25)})
    assert rows["video"] == ["0.mp4", "1.mp4", "2.mp4"]
    assert rows["status"] == ["done", "stored", "failed"]
    # two decimals, as the results print it (f"{0.73514:.2f}" is 0.74): 0.735 was drawn '%.2f' as 0.73
    assert rows["peak"] == [0.74, 0.43, None]
    # None, not "": the table draws None as its "—" placeholder and leaves "" blank
    assert rows["at"] == ["0:00.4", "1:01.2", None]
    assert rows["length"] == ["0:02.4", "1:15.0", None]  # footage as m:ss, not the scoring seconds
    assert rows["scored in"] == ["0.9 s", None, None]
    assert rows["reason"] == ["", "", "not a video"]
