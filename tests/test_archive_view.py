"""The Archive page's wording: footage in a unit that suits it, speed as a factor of real time, and a batch's
progress that says what succeeded and what failed."""

from __future__ import annotations

import pytest

from core.batch import JobStore
from ui.archive_view import batch_label, counts_text, footage_text, no_segment_text, progress_text, speed_text


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
    assert batch_label(mixed, "✅").endswith("· motion · local · done · 1 scored, 2 failed of 3")
    assert no_segment_text(mixed) == "No anomalous segment in these videos."
    stored = job_with(jobs, ["skipped", "done", "pending"], "cancelled")
    assert counts_text(stored) == "1 scored, 1 already stored of 3 · 1 left"
    assert "resume" in no_segment_text(stored)
    all_failed = job_with(jobs, ["failed"])
    assert no_segment_text(all_failed) == "No video of this batch was scored, so there is no segment to rank."
    queued = job_with(jobs, ["pending", "pending"], "queued")
    assert batch_label(queued).endswith("· queued · 2 videos") and "0 scored" not in batch_label(queued)
    assert no_segment_text(queued) == "No anomalous segment yet — the batch is still running."
