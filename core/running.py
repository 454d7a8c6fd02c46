"""Analyses under way, recorded in the store so that a server restart does not lose them without a word.

A page's analysis runs as a thread of the server process (``ui/jobs.py``): when that process ends (a deploy, a
crash, a laptop's service restarting) the thread is gone with it. Each running analysis therefore leaves a row
here when it starts (what is needed to run it again), its progress now and then, and no row once it ends in any
way. A row whose process is no longer running is an *interrupted* analysis, which its owner can run again or
dismiss. Credentials in a link are never written: a link that needed them says so instead (``needs_login``).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from core.config import EventConfig, ScoringConfig
from core.db import Database, register_schema
from core.errors import NotFoundError, SourceGoneError
from core.netguard import has_credentials, strip_credentials

register_schema(
    "running",
    """
CREATE TABLE IF NOT EXISTS running_analyses (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    label TEXT NOT NULL,
    model TEXT NOT NULL,
    scoring_json TEXT NOT NULL,
    events_json TEXT NOT NULL,
    source TEXT NOT NULL,
    source_uri TEXT,
    name TEXT,
    link INTEGER NOT NULL DEFAULT 0,
    needs_login INTEGER NOT NULL DEFAULT 0,
    upload INTEGER NOT NULL DEFAULT 0,
    overlay_on TEXT,
    started_at TEXT NOT NULL,
    fraction REAL NOT NULL DEFAULT 0,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    process_start TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS running_owner ON running_analyses (owner);
""",
)


GONE = "That interrupted analysis is no longer listed (run again or dismissed in another tab)."


@dataclass(frozen=True)
class ProcessStamp:
    """Which process runs an analysis: ``host``, ``pid`` and ``start``, the boot id and the process's start time in
    clock ticks since boot (``/proc/<pid>/stat``), so a pid reused by another process, or after a reboot, never
    passes for the one that wrote the row. ``start`` is "" where /proc is missing (then the pid alone is checked)."""

    host: str
    pid: int
    start: str


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _process_start(pid: int) -> str | None:
    """``boot id/start ticks`` of a running process, "" without /proc, None when no such process (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[-1].split()
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    if fields[0] == "Z":  # exited, not yet reaped: not running anything
        return None
    return f"{_boot_id()}/{fields[19]}"  # field 22 of stat (starttime); fields[0] is field 3


@cache
def this_process() -> ProcessStamp:
    """The stamp of the process calling (computed once: it does not change while the process lives)."""
    return ProcessStamp(socket.gethostname(), os.getpid(), _process_start(os.getpid()) or "")


def is_running(stamp: ProcessStamp) -> bool:
    """True while the process of ``stamp`` still runs, or when it cannot be told (another host's process).

    Two servers may share one data folder: a row is only judged by the host that wrote it, by pid and start time.
    """
    if stamp.host != socket.gethostname():
        return True  # another machine's process: not ours to call gone
    try:
        os.kill(stamp.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    start = _process_start(stamp.pid)
    if start is None:
        return False
    return not (start and stamp.start) or start == stamp.start


@dataclass(frozen=True)
class AnalysisRequest:
    """What is needed to run an analysis again: who, what (``source``: a file path, or a link without its
    credentials), which model and settings, under which name. ``overlay_on``: a Compare run, the analysis id its
    scores are overlaid on. ``upload``: ``source`` is a kept upload (``core.sources.uploads_dir``)."""

    owner: str
    label: str
    model: str
    scoring: ScoringConfig
    events: EventConfig
    source: str
    source_uri: str | None = None
    name: str | None = None
    link: bool = False
    needs_login: bool = False  # the link had user:pass, which is not kept: it must be pasted again
    upload: bool = False
    overlay_on: str | None = None

    @classmethod
    def of(
        cls,
        owner: str,
        label: str,
        model: str,
        scoring: ScoringConfig,
        events: EventConfig,
        source: str | Path,
        source_uri: str | None = None,
        name: str | None = None,
        link: bool = False,
        upload: bool = False,
        overlay_on: str | None = None,
    ) -> AnalysisRequest:
        """The request with every credential removed from what is kept (label, link, source_uri, name)."""
        text = str(source)
        return cls(
            owner,
            strip_credentials(label),
            model,
            scoring,
            events,
            strip_credentials(text),
            strip_credentials(source_uri) if source_uri else source_uri,
            strip_credentials(name) if name else name,
            link,
            link and has_credentials(text),
            upload,
            overlay_on,
        )


@dataclass(frozen=True)
class RunningAnalysis:
    """One recorded analysis under way (or interrupted): ``id`` its job's id, ``started_at`` ISO-8601 UTC,
    ``fraction`` the last progress recorded (0..1), ``process`` the process that runs it."""

    id: str
    request: AnalysisRequest
    started_at: str
    fraction: float
    process: ProcessStamp

    @property
    def interrupted(self) -> bool:
        return not is_running(self.process)


class RunningAnalyses:
    """The ``running_analyses`` rows of one database. ``me``: the stamp written with each row (a test passes
    another process's)."""

    def __init__(self, db: Database | None = None, me: ProcessStamp | None = None) -> None:
        self.db = db or Database()
        self.me = me or this_process()

    def begin(self, run_id: str, request: AnalysisRequest, now: datetime | None = None) -> None:
        """Record that ``request`` started as run ``run_id`` at ``now`` (UTC; default the clock's)."""
        r, me = request, self.me
        started = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        with self.db.connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO running_analyses (id, owner, label, model, scoring_json, events_json, source, "
                "source_uri, name, link, needs_login, upload, overlay_on, started_at, fraction, host, pid, "
                "process_start) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    r.owner,
                    r.label,
                    r.model,
                    r.scoring.model_dump_json(),
                    r.events.model_dump_json(),
                    strip_credentials(r.source),  # never a password on disk, whoever built the request
                    r.source_uri,
                    r.name,
                    int(r.link),
                    int(r.needs_login),
                    int(r.upload),
                    r.overlay_on,
                    started,
                    0.0,
                    me.host,
                    me.pid,
                    me.start,
                ),
            )

    def progress(self, run_id: str, fraction: float) -> None:
        """Record how far run ``run_id`` is (0..1)."""
        with self.db.connect() as con:
            con.execute("UPDATE running_analyses SET fraction=? WHERE id=?", (min(1.0, max(0.0, fraction)), run_id))

    def end(self, run_id: str) -> None:
        """The run ended (done, failed or cancelled): no row is left of it."""
        with self.db.connect() as con:
            con.execute("DELETE FROM running_analyses WHERE id=?", (run_id,))

    def of_owner(self, owner: str) -> list[RunningAnalysis]:
        """``owner``'s recorded runs, running or interrupted, oldest first."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT * FROM running_analyses WHERE owner=? ORDER BY started_at, id", (owner,)
            ).fetchall()
        return [_running(r) for r in rows]

    def interrupted(self, owner: str) -> list[RunningAnalysis]:
        """``owner``'s runs whose process is gone (a restart), oldest first; never another owner's."""
        return [r for r in self.of_owner(owner) if r.interrupted]

    def dismiss(self, owner: str, run_id: str) -> RunningAnalysis:
        """Drop ``owner``'s interrupted run ``run_id``; returns it. NotFoundError when there is none (already
        dismissed in another tab, another owner's, or still running)."""
        run = next((r for r in self.interrupted(owner) if r.id == run_id), None)
        if run is None:
            raise NotFoundError(GONE)
        self.end(run_id)
        return run

    def uses_video(self, path: str | Path) -> bool:
        """True when a recorded run (running or interrupted) analyses this file: it must not be deleted."""
        with self.db.connect() as con:
            row = con.execute("SELECT 1 FROM running_analyses WHERE source=? LIMIT 1", (str(path),)).fetchone()
        return row is not None


def check_rerun(run: RunningAnalysis, analysis_exists: bool | None = None) -> None:
    """Raise a user-readable error when ``run`` cannot run again: its video file is gone, its link needed a login
    that is not kept, or (Compare) ``analysis_exists`` is False: the analysis it was overlaid on was deleted."""
    r = run.request
    if r.needs_login:
        raise SourceGoneError(
            f"The link of {r.label} needed a user name and password, which Vigil does not keep: paste the link again "
            "on Analyze."
        )
    if r.overlay_on and analysis_exists is False:
        raise SourceGoneError(
            f"The analysis that {r.label} was being compared with has been deleted: there is nothing to overlay it on."
        )
    if not r.link and not Path(r.source).exists():
        what = "uploaded video" if r.upload else "video"
        raise SourceGoneError(
            f"The {what} of {r.label} is no longer on the server (deleted, or removed to keep the disk under its cap): "
            "it cannot be run again. Upload it again on Analyze."
        )


def _running(row) -> RunningAnalysis:
    request = AnalysisRequest(
        owner=row["owner"],
        label=row["label"],
        model=row["model"],
        scoring=ScoringConfig.model_validate_json(row["scoring_json"]),
        events=EventConfig.model_validate_json(row["events_json"]),
        source=row["source"],
        source_uri=row["source_uri"],
        name=row["name"],
        link=bool(row["link"]),
        needs_login=bool(row["needs_login"]),
        upload=bool(row["upload"]),
        overlay_on=row["overlay_on"],
    )
    stamp = ProcessStamp(row["host"], row["pid"], row["process_start"])
    return RunningAnalysis(row["id"], request, row["started_at"], float(row["fraction"]), stamp)
