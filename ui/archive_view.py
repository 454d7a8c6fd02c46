"""The words and figures of the Archive page: what a batch's progress, footage and speed read as.

Pure functions over a ``BatchJob`` so the page stays a thin view and the wording is tested on its own."""

from __future__ import annotations

from pathlib import Path

from core.access import Identity
from core.batch import BatchItem, BatchJob
from ui.charts import mmss

# Table rows taller than 64 px (4rem): only there does Streamlit wrap a cell's text, so that a long file name,
# cause or reason reads in full instead of being cut.
WRAP_ROW_PX = 65  # three lines
RANKING_ROW_PX = 76  # four lines, beside a thumbnail


def counts_text(job: BatchJob) -> str:
    """'1 scored, 2 failed of 3' (with 'already stored' when some were): what succeeded and what did not."""
    c = job.counts
    parts = [f"{c['done']} scored"]
    if c["skipped"]:
        parts.append(f"{c['skipped']} already stored")
    if c["failed"]:
        parts.append(f"{c['failed']} failed")
    text = f"{', '.join(parts)} of {job.total}"
    left = c["pending"] + c["running"]
    return text + (f" · {left} left" if left else "")


def progress_text(job: BatchJob) -> str:
    """The header of a batch's progress bar, e.g. 'done · 1 scored, 2 failed of 3'."""
    return f"{job.status} · {counts_text(job)}"


def finished_fraction(job: BatchJob) -> float:
    """Videos the batch is through with (scored, already stored or failed) over all its videos, 0..1."""
    c = job.counts
    return (c["done"] + c["skipped"] + c["failed"]) / max(1, job.total)


def owner_text(owner: str, who: Identity) -> str:
    """Who started a batch, as the viewer reads it: '' when login is off (everyone is the one local user, and
    the recorded owner is only the server's OS account), 'you' for the viewer's own, else the address
    ('local user' for a batch started without login, e.g. from a terminal)."""
    if not who.email:
        return ""
    if owner.strip().lower() == who.email:
        return "you"
    return owner if "@" in owner else "local user"


def batch_label(job: BatchJob, icon: str = "", owner: str = "") -> str:
    """One batch in the picker; ``owner`` as ``owner_text`` gives it (left out when ''). A running batch shows
    no counts: the picker is drawn once per page run while the counts move every second (the status below it
    is live), and a stale '0/3' would read as wrong."""
    when = job.created_at.replace("T", " ").removesuffix("+00:00")  # stored in UTC: the offset says nothing
    head = f"{icon} {when} · {owner + ' · ' if owner else ''}{job.model} · {job.engine} · ".lstrip()
    if job.active:
        return head + f"{job.status} · {job.total} video{'' if job.total == 1 else 's'}"
    return head + progress_text(job)


def footage_text(seconds: float) -> str:
    """Seconds of video -> a short figure in a unit that suits it: '9 s', '2.5 min', '1.25 h', '5800 h'."""
    s = max(0.0, float(seconds))
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    h = s / 3600
    return f"{h:.2f} h" if h < 10 else f"{h:.1f} h" if h < 100 else f"{h:.0f} h"


def speed_text(footage_hours_per_hour: float) -> str:
    """Hours of video scored per hour of wall time, as a factor of real time: '9.6×', '47×', '75000×'."""
    x = max(0.0, float(footage_hours_per_hour))
    return f"{x:.1f}×" if x < 10 else f"{x:.0f}×"


def no_segment_text(job: BatchJob) -> str:
    """What the ranking says when the batch has no anomalous segment: 'yet' only while it can still find one."""
    if job.active:
        return "No anomalous segment yet — the batch is still running."
    scored = job.counts["done"] + job.counts["skipped"]
    if not scored:
        return "No video of this batch was scored, so there is no segment to rank."
    if job.status == "done" and not (job.counts["pending"] + job.counts["running"]):
        return "No anomalous segment in these videos."
    return "No anomalous segment in the videos scored so far; resume the batch to score the rest."


def resume_label(job: BatchJob, hopeless: int = 0) -> str | None:
    """The Resume button's words, saying what it will do ('Retry 1 failed', 'Resume 2 left', 'Resume 2 left,
    retry 1 failed'); None when it has nothing to do: the batch runs, or every video is scored or stored, or
    failed in a way a retry cannot change. ``hopeless``: how many failures are of that kind (``BatchItem.hopeless``,
    stored by core when they failed): a resume leaves them as they are."""
    if job.active:
        return None
    c = job.counts
    left, retry = c["pending"] + c["running"], max(0, c["failed"] - hopeless)
    parts = ([f"resume {left} left"] if left else []) + ([f"retry {retry} failed"] if retry else [])
    return ", ".join(parts).capitalize() or None


def hopeless_text(items: list[BatchItem], known: dict[str, str] | None = None) -> str | None:
    """What to do about the failed videos a retry cannot help ('Retrying will not help broken.mp4…'); None
    when there is none. ``known``: see ``item_name``."""
    names = [item_name(i.source, known) for i in items if i.hopeless]
    if not names:
        return None
    which = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    what = (
        "it fails the same way on every try (the reason is above). Fix or replace it"
        if len(names) == 1
        else "they fail the same way on every try (the reasons are above). Fix or replace them"
    )
    return f"Retrying will not help {which}: {what}, then start the batch again (videos already scored are skipped)."


def last_run_text(job: BatchJob) -> str | None:
    """What the last resume of a finished batch did, e.g. 'The resume tried 1 video again: 1 failed.', so a
    resume that changed no count still shows it ran; None for a batch's first run or while it runs."""
    s = job.summary
    if job.active or job.runs < 2 or "todo" not in s:
        return None
    # found stored in that run itself: not the videos finished before it, nor the failures it left as they were
    stored = s.get("skipped", 0) - (s.get("videos", 0) - s["todo"] - s.get("hopeless", 0))
    parts = [f"{n} {what}" for n, what in ((s.get("done", 0), "scored"), (stored, "already stored"),
                                           (s.get("failed", 0), "failed")) if n]  # fmt: skip
    outcome = ", ".join(parts) or "it was stopped before any finished"
    return f"The resume tried {s['todo']} video{'' if s['todo'] == 1 else 's'} again: {outcome}."


# an item's state as the Videos table names it: 'skipped' is what the metric above calls 'Already stored'
STATUS_WORDS = {"skipped": "stored"}


def item_name(source: str, names: dict[str, str] | None = None) -> str:
    """What a user calls a batch video: the name it was uploaded or linked under (``names``: stored video path ->
    source name, ``Store.videos``), else its file name. A kept upload's file is named by its hash
    ("045d3fb8d2…10586.mp4"), which tells nobody which video it is."""
    return (names or {}).get(source) or Path(source).name or source


def video_rows(
    items: list[BatchItem], peaks: dict[str, tuple[float, float, float]], names: dict[str, str] | None = None
) -> dict[str, list]:
    """The Videos table's columns, one entry per item. ``peaks``: ``JobStore.video_peaks`` (duration s, peak,
    peak time s) by analysis id. ``length`` is the footage (m:ss.s), ``scored in`` the seconds the scoring took
    (None where the video was already stored or failed), ``peak``/``at`` the video's highest score and when;
    None where no analysis is stored: the table's placeholder draws every such cell as "—" (an empty string it
    leaves blank, so a failed row showed "—" under peak only). ``names``: see ``item_name``."""

    def of(i: BatchItem) -> tuple[float, float, float] | None:
        return peaks.get(i.analysis_id) if i.analysis_id else None

    return {
        "video": [item_name(i.source, names) for i in items],
        "status": [STATUS_WORDS.get(i.status, i.status) for i in items],
        "peak": [round(p[1], 2) if (p := of(i)) else None for i in items],  # as the results print it
        "at": [mmss(p[2]) if (p := of(i)) else None for i in items],
        "length": [mmss(p[0]) if (p := of(i)) else mmss(i.footage) if i.footage else None for i in items],
        "scored in": [f"{i.seconds:.1f} s" if i.status == "done" else None for i in items],
        "tries": [i.attempts for i in items],
        "reason": [i.reason for i in items],
        "path": [i.source for i in items],
    }
