"""Analyses under way, recorded in the store so that a server restart does not lose them without a word.

A page's analysis runs as a thread of the server process (``ui/jobs.py``): when that process ends (a deploy, a
crash, a laptop's service restarting) the thread is gone with it. Each running analysis therefore leaves a row
here when it starts (what is needed to run it again), its progress every few seconds (a heartbeat, written also
when the progress has not moved), and no row once it ends in any way. A row whose process is no longer running is an
*interrupted* analysis, which its owner can run again or dismiss: on this host the process is looked up by pid and
start time; a row from another host name (a second server on the data folder, or this container before it was
recreated under a new name) is interrupted once its heartbeat has not changed for ``STALE_HEARTBEAT_S`` while this
process watched it (``HeartbeatWatch``: by this host's monotonic clock, so the two hosts' clocks need not agree), or at
once when this process first sees it already ``FIRST_SIGHT_STALE_S`` old by its own clock. An interrupted
row nobody ran again or dismissed is forgotten after ``settings().interrupted_keep_days``. Credentials in a link are
never written: a link that needed them says so instead (``needs_login``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from core.config import EventConfig, ScoringConfig
from core.db import Database, register_column, register_schema
from core.errors import NotFoundError, SourceGoneError
from core.netguard import has_credentials, strip_credentials
from core.settings import settings

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
    process_start TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS running_owner ON running_analyses (owner);
""",
)
# The heartbeat (ISO-8601 UTC of the last progress write); rows written before it existed have '' (started_at counts)
register_column("running_analyses", "updated_at", "TEXT NOT NULL DEFAULT ''")

# A row of another host is judged by its heartbeat alone: ui/jobs.py writes one every 5 s, so two minutes without a new
# value is a process that is gone, never a slow frame or a long transcode.
STALE_HEARTBEAT_S = 120.0
# A row first seen with a heartbeat this old by this host's clock is judged at once (a restarted server shows day-old
# interruptions without watching them for two minutes); far beyond any clock skew between two servers.
FIRST_SIGHT_STALE_S = 86400.0


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
    """True while the process of ``stamp`` still runs, or when it cannot be told (another host's process: pids here
    say nothing about it, ``is_interrupted`` judges it by its heartbeat instead)."""
    if stamp.host != socket.gethostname():
        return True  # another machine's process: its pid is not ours to look up
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


class HeartbeatWatch:
    """When this process first saw each record's current heartbeat value, by its own monotonic clock (seconds), so
    that another host's run is judged by whether its heartbeat still *changes*, whatever that host's clock says.
    One per process (``WATCH``), shared by every reader: the pages build a ``RunningAnalyses`` per call. Thread-safe.
    ``monotonic``: seconds, never going back (a test passes its own)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self._seen: dict[tuple[str, str], tuple[str, float, bool]] = {}  # key -> (value, first seen, old at sight)
        self._lock = threading.Lock()

    def stopped(self, key: tuple[str, str], beat: str, age_s: float) -> bool:
        """Whether record ``key``'s heartbeat has stopped: its value ``beat`` unchanged for more than
        ``STALE_HEARTBEAT_S`` of this process's watching, or, for a record this process had never seen, already
        ``age_s`` (s, by this host's wall clock) > ``FIRST_SIGHT_STALE_S`` then. A new value starts the watch again."""
        now = self.monotonic()
        with self._lock:
            seen = self._seen.get(key)
            if seen is None or seen[0] != beat:
                seen = (beat, now, seen is None and age_s > FIRST_SIGHT_STALE_S)
                self._seen[key] = seen
        _, since, old_at_sight = seen
        return old_at_sight or now - since > STALE_HEARTBEAT_S

    def forget(self, db: Path, keep: set[str]) -> None:
        """Drop what was seen of ``db``'s records other than the ids in ``keep`` (they were deleted)."""
        where = str(db)
        with self._lock:
            for key in [k for k in self._seen if k[0] == where and k[1] not in keep]:
                del self._seen[key]


WATCH = HeartbeatWatch()


def is_interrupted(stamp: ProcessStamp, heartbeat_stopped: bool) -> bool:
    """True when the run recorded by ``stamp`` is no longer under way: on this host when its process is gone (pid
    and start time); from another host name when its heartbeat has stopped (``heartbeat_stopped``, as
    ``HeartbeatWatch.stopped`` judges it): the host is gone, or is a container recreated under a new name."""
    if stamp.host == socket.gethostname():
        return not is_running(stamp)
    return heartbeat_stopped


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
    ``fraction`` the last progress recorded (0..1), ``process`` the process that runs it, ``updated_at`` its last
    heartbeat (ISO-8601 UTC; ``started_at`` for a row written before heartbeats were), ``interrupted`` whether it
    was judged gone when read (``is_interrupted``)."""

    id: str
    request: AnalysisRequest
    started_at: str
    fraction: float
    process: ProcessStamp
    updated_at: str
    interrupted: bool

    @property
    def heartbeat(self) -> datetime:
        """When the run last wrote its progress (aware UTC)."""
        return _utc(self.updated_at)


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(text: str) -> datetime:
    """ISO-8601 text -> aware UTC datetime (a naive one is taken as UTC)."""
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class RunningAnalyses:
    """The ``running_analyses`` rows of one database. ``me``: the stamp written with each row (a test passes
    another process's). ``clock``: the time now, aware UTC (a test passes its own). ``watch``: what this process has
    seen of other hosts' heartbeats (default the process's own ``WATCH``)."""

    def __init__(
        self,
        db: Database | None = None,
        me: ProcessStamp | None = None,
        clock: Callable[[], datetime] = _now,
        watch: HeartbeatWatch | None = None,
    ) -> None:
        self.db = db or Database()
        self.me = me or this_process()
        self.clock = clock
        self.watch = watch or WATCH
        self._where = self.db.path.resolve()  # one key per file, however its path was spelled

    def begin(self, run_id: str, request: AnalysisRequest, now: datetime | None = None) -> None:
        """Record that ``request`` started as run ``run_id`` at ``now`` (UTC; default the clock's)."""
        r, me = request, self.me
        started = (now or self.clock()).isoformat(timespec="seconds")
        with self.db.connect() as con:
            con.execute(
                "INSERT OR REPLACE INTO running_analyses (id, owner, label, model, scoring_json, events_json, source, "
                "source_uri, name, link, needs_login, upload, overlay_on, started_at, fraction, host, pid, "
                "process_start, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                    started,
                ),
            )

    def progress(self, run_id: str, fraction: float) -> None:
        """Record how far run ``run_id`` is (0..1) and that it is alive now (the heartbeat, also when it has not
        moved: another host judges the run by it)."""
        beat = self.clock().isoformat(timespec="seconds")
        with self.db.connect() as con:
            con.execute(
                "UPDATE running_analyses SET fraction=?, updated_at=? WHERE id=?",
                (min(1.0, max(0.0, fraction)), beat, run_id),
            )

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
        now = self.clock()
        return [self._running(r, now) for r in rows]

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

    def videos(self) -> list[Path]:
        """The files recorded runs (running or interrupted, every owner's) analyse: a size cap must keep them, or Run
        again finds its video gone. Links are not files (a run again downloads them anew)."""
        with self.db.connect() as con:
            rows = con.execute("SELECT DISTINCT source FROM running_analyses WHERE link=0").fetchall()
        return [Path(r["source"]) for r in rows]

    def forget_expired(self, keep_days: float | None = None) -> list[RunningAnalysis]:
        """Drop every owner's interrupted runs whose last heartbeat is more than ``keep_days`` old (default
        ``settings().interrupted_keep_days``; 0 = never); returns them, for the caller to discard their uploads
        (``core.sources.discard_upload``) once nothing else uses them. Runs still under way are never dropped."""
        days = settings().interrupted_keep_days if keep_days is None else keep_days
        if days <= 0:
            return []
        now = self.clock()
        with self.db.connect() as con:  # one transaction: a run started again meanwhile is not deleted unseen
            rows = con.execute("SELECT * FROM running_analyses ORDER BY started_at, id").fetchall()
            runs = [self._running(row, now) for row in rows]
            old = [r for r in runs if r.interrupted and now - r.heartbeat > timedelta(days=days)]
            con.executemany("DELETE FROM running_analyses WHERE id=?", [(r.id,) for r in old])
        self.watch.forget(self._where, {r.id for r in runs} - {r.id for r in old})  # every row read: prune the rest
        return old

    def _running(self, row, now: datetime) -> RunningAnalysis:
        """A row as a RunningAnalysis judged at ``now`` (aware UTC; another host's heartbeat by ``watch``)."""
        stamp = ProcessStamp(row["host"], row["pid"], row["process_start"])
        updated = row["updated_at"] or row["started_at"]
        stopped = stamp.host != socket.gethostname() and self.watch.stopped(
            (str(self._where), row["id"]), updated, (now - _utc(updated)).total_seconds()
        )
        return _running(row, is_interrupted(stamp, stopped))


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


def _running(row, interrupted: bool) -> RunningAnalysis:
    """A row as a RunningAnalysis, ``interrupted`` as judged."""
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
    updated = row["updated_at"] or row["started_at"]
    return RunningAnalysis(row["id"], request, row["started_at"], float(row["fraction"]), stamp, updated, interrupted)
