"""Batch jobs kept in the store: what was asked, by whom, and where each video stands.

A job outlives the process that runs it: the Archive page starts ``python -m core batch --job ID`` in
its own session and reads the rows, so a page reload or a closed tab changes nothing; cancelling sets
a flag the running driver polls. Only the driver writes these rows; workers never open the database.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.config import EventConfig, ScoringConfig
from core.db import Database, register_column, register_schema
from core.errors import NotFoundError

register_schema(
    "batch",
    """
CREATE TABLE IF NOT EXISTS batch_jobs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    owner TEXT NOT NULL,
    model TEXT NOT NULL,
    engine TEXT NOT NULL,
    workers INTEGER,
    gpus_per_worker REAL NOT NULL DEFAULT 0,
    scoring_json TEXT NOT NULL,
    events_json TEXT NOT NULL,
    inputs_json TEXT NOT NULL,
    status TEXT NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    pid INTEGER,
    started_at TEXT,
    finished_at TEXT,
    error TEXT NOT NULL DEFAULT '',
    summary_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS batch_items (
    job_id TEXT NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    analysis_id TEXT,
    reason TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    footage REAL NOT NULL DEFAULT 0,
    retryable INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (job_id, idx)
);
""",
)

# Rows stored before ``retryable`` existed kept only the failure's words: this is how the Archive page read them then.
# A new failure's flag comes from its error's type (core.errors.retryable); these words judge the old rows, once.
LEGACY_FILE_FAULTS = (
    "is not a video this app can read",
    "is empty (0 bytes)",
    "is a still image, not a video",
    "a video needs at least two",
    "holds no video and no numbered images",
    "is not a readable image",
    "is a folder; give a video file",
)


def legacy_retryable(reason: str) -> bool:
    """Whether a failure stored before the flag existed may pass on a retry, from its ``reason`` alone: False for a
    file that is not a readable video (it fails the same way every time), True for the rest (network, interruption,
    storage, a missing file)."""
    return not any(words in reason for words in LEGACY_FILE_FAULTS)


def _backfill_retryable(con) -> None:
    rows = con.execute("SELECT job_id, idx, reason FROM batch_items WHERE status='failed'").fetchall()
    con.executemany(
        "UPDATE batch_items SET retryable=0 WHERE job_id=? AND idx=?",
        [(r[0], r[1]) for r in rows if not legacy_retryable(r[2])],
    )


register_column("batch_items", "retryable", "INTEGER NOT NULL DEFAULT 1", backfill=_backfill_retryable)

JOB_STATES = ("queued", "running", "done", "cancelled", "failed", "interrupted")
ITEM_STATES = ("pending", "running", "done", "skipped", "failed")
FINISHED_ITEM = ("done", "skipped")


@dataclass(frozen=True)
class BatchJob:
    """One batch as recorded. ``status``: one of JOB_STATES; ``counts``: videos per item state."""

    id: str
    created_at: str
    owner: str
    model: str
    engine: str
    workers: int | None
    gpus_per_worker: float
    scoring: ScoringConfig
    events: EventConfig
    inputs: list[str]
    status: str
    cancel_requested: bool
    pid: int | None
    started_at: str | None
    finished_at: str | None
    error: str
    summary: dict
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def runs(self) -> int:
        """How many runs of this batch have ended (the first one and every resume)."""
        return int(self.summary.get("batch", run_totals(self.summary))["runs"])

    @property
    def footage_hours_per_hour(self) -> float | None:
        """Hours of video scored per hour of scoring time over every run of this batch (× real time), so a
        resume that scores nothing keeps the figure; None while no run has scored any video."""
        totals = self.summary.get("batch", run_totals(self.summary))
        hours, seconds = totals["footage_hours"], totals["scoring_seconds"]
        return hours * 3600.0 / seconds if hours > 0 and seconds > 0 else None


@dataclass(frozen=True)
class BatchItem:
    """One video of a job: ``status`` one of ITEM_STATES; ``seconds`` of work, ``footage`` s scored;
    ``retryable``: for a failed video, whether a retry may pass (a resume tries only those)."""

    index: int
    source: str
    status: str
    analysis_id: str | None
    reason: str
    attempts: int
    seconds: float
    footage: float
    retryable: bool = True

    @property
    def hopeless(self) -> bool:
        """A failed video that no retry can help: it stays failed until its file (or the setup) is fixed."""
        return self.status == "failed" and not self.retryable

    @property
    def left(self) -> bool:
        """What a run (or a resume) of the batch scores: not finished, and not failed for good."""
        return self.status not in FINISHED_ITEM and not self.hopeless


def run_totals(summary: dict) -> dict:
    """What one run's summary (``BatchSummary.to_dict()``, or {} when the run could not start) adds to its
    batch: ``runs`` 0 or 1, ``footage_hours`` (h of video scored) and ``scoring_seconds`` (s of workers' time)."""
    return {
        "runs": 1 if summary else 0,
        "footage_hours": float(summary.get("footage_hours", 0.0)),
        "scoring_seconds": float(summary.get("scoring_seconds", 0.0)),
    }


def default_owner() -> str:
    """Who runs a batch when nobody is logged in: the local user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobStore:
    def __init__(self, db: Database | None = None):
        self.db = db or Database()

    # --- write ---------------------------------------------------------------------------------------
    def create(
        self,
        sources: list[str],
        model: str,
        engine: str = "local",
        workers: int | None = None,
        gpus_per_worker: float = 0.0,
        scoring: ScoringConfig | None = None,
        events: EventConfig | None = None,
        owner: str | None = None,
        inputs: list[str] | None = None,
    ) -> str:
        """Record a queued job over ``sources`` (paths or links, one video each). Returns its id."""
        job_id = datetime.now(UTC).strftime("b%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self.db.connect() as con:
            con.execute(
                "INSERT INTO batch_jobs (id, created_at, owner, model, engine, workers, gpus_per_worker, "
                "scoring_json, events_json, inputs_json, status) VALUES (?,?,?,?,?,?,?,?,?,?, 'queued')",
                (
                    job_id,
                    _now(),
                    owner or default_owner(),
                    model,
                    engine,
                    workers,
                    gpus_per_worker,
                    (scoring or ScoringConfig()).model_dump_json(),
                    (events or EventConfig()).model_dump_json(),
                    json.dumps(inputs if inputs is not None else sources),
                ),
            )
            con.executemany(
                "INSERT INTO batch_items (job_id, idx, source, status) VALUES (?,?,?, 'pending')",
                [(job_id, i, s) for i, s in enumerate(sources)],
            )
        return job_id

    def mark_running(self, job_id: str, pid: int | None = None) -> None:
        with self.db.connect() as con:
            con.execute(
                "UPDATE batch_jobs SET status='running', pid=?, started_at=COALESCE(started_at, ?), error='' "
                "WHERE id=?",
                (pid or os.getpid(), _now(), job_id),
            )
            con.execute("UPDATE batch_items SET status='pending' WHERE job_id=? AND status='running'", (job_id,))

    def finish(self, job_id: str, status: str, summary: dict | None = None, error: str = "") -> None:
        """Close a job (done, cancelled, failed) with its run's summary; videos still marked running go back to
        pending. The summary also keeps ``batch``: the totals of every run so far (``run_totals`` summed), so
        the batch's throughput outlives a resume that scored nothing or could not start."""
        with self.db.connect() as con:
            row = con.execute("SELECT summary_json FROM batch_jobs WHERE id=?", (job_id,)).fetchone()
            before = json.loads(row[0]) if row else {}
            totals = before.get("batch", run_totals(before))
            run = run_totals(summary or {})
            summary = {**(summary or {}), "batch": {k: totals[k] + run[k] for k in run}}
            con.execute(
                "UPDATE batch_jobs SET status=?, finished_at=?, error=?, summary_json=? WHERE id=?",
                (status, _now(), error, json.dumps(summary), job_id),
            )
            con.execute("UPDATE batch_items SET status='pending' WHERE job_id=? AND status='running'", (job_id,))

    def set_item(
        self,
        job_id: str,
        index: int,
        status: str,
        analysis_id: str | None = None,
        reason: str = "",
        attempts: int | None = None,
        seconds: float = 0.0,
        footage: float = 0.0,
        retryable: bool = True,
    ) -> None:
        """Record where video ``index`` stands; ``retryable``: for a failure, whether a retry may pass."""
        with self.db.connect() as con:
            con.execute(
                "UPDATE batch_items SET status=?, analysis_id=COALESCE(?, analysis_id), reason=?, "
                "attempts=COALESCE(?, attempts), seconds=?, footage=?, retryable=? WHERE job_id=? AND idx=?",
                (status, analysis_id, reason, attempts, seconds, footage, int(retryable), job_id, index),
            )

    def request_cancel(self, job_id: str) -> None:
        """Ask the process running the job to stop; finished videos stay stored."""
        with self.db.connect() as con:
            con.execute("UPDATE batch_jobs SET cancel_requested=1 WHERE id=?", (job_id,))
            # a job nobody runs yet, or whose process is gone, is closed here
            con.execute(
                "UPDATE batch_jobs SET status='cancelled', finished_at=? WHERE id=? AND status='queued'",
                (_now(), job_id),
            )

    def cancel_requested(self, job_id: str) -> bool:
        with self.db.connect() as con:
            row = con.execute("SELECT cancel_requested FROM batch_jobs WHERE id=?", (job_id,)).fetchone()
        return bool(row and row[0])

    def reopen(self, job_id: str) -> None:
        """Queue an interrupted, cancelled or failed job again; what finished is kept and not redone."""
        with self.db.connect() as con:
            con.execute(
                "UPDATE batch_jobs SET status='queued', cancel_requested=0, finished_at=NULL, error='' WHERE id=?",
                (job_id,),
            )

    # --- read ----------------------------------------------------------------------------------------
    def get(self, job_id: str) -> BatchJob:
        with self.db.connect() as con:
            row = con.execute("SELECT * FROM batch_jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"No batch job '{job_id}'.")
            counts = dict(
                con.execute("SELECT status, COUNT(*) FROM batch_items WHERE job_id=? GROUP BY status", (job_id,))
            )
        return self._job(row, counts)

    def list(self, limit: int = 100) -> list[BatchJob]:
        """Jobs, newest first."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT * FROM batch_jobs ORDER BY created_at DESC, id DESC LIMIT ?", (limit,)
            ).fetchall()
            counts: dict[str, dict[str, int]] = {}
            for r in con.execute("SELECT job_id, status, COUNT(*) FROM batch_items GROUP BY job_id, status"):
                counts.setdefault(r[0], {})[r[1]] = r[2]
        return [self._job(r, counts.get(r["id"], {})) for r in rows]

    def items(self, job_id: str) -> list[BatchItem]:
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT idx, source, status, analysis_id, reason, attempts, seconds, footage, retryable "
                "FROM batch_items WHERE job_id=? ORDER BY idx",
                (job_id,),
            ).fetchall()
        return [BatchItem(*r[:8], retryable=bool(r[8])) for r in rows]

    def analysis_ids(self, job_id: str) -> list[str]:
        """The stored analyses of a job's finished videos (scored now or found already stored)."""
        return [i.analysis_id for i in self.items(job_id) if i.status in FINISHED_ITEM and i.analysis_id]

    def video_peaks(self, analysis_ids: list[str]) -> dict[str, tuple[float, float, float]]:
        """(duration s, peak 0..1, peak time s) of each stored analysis, by id; missing ids are left out.

        The time is that of the first segment reaching the video's peak (the middle of a flat maximum, as the
        ranking shows it), else the analysis's own peak time (a video without a segment)."""
        ids = list(dict.fromkeys(a for a in analysis_ids if a))
        if not ids:
            return {}
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT a.id, a.duration, a.peak, COALESCE((SELECT s.peak_t FROM segments s WHERE s.analysis_id = a.id "
                f"AND s.peak >= a.peak - 1e-9 ORDER BY s.idx LIMIT 1), a.peak_t) FROM analyses a "
                f"WHERE a.id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        return {r[0]: (float(r[1]), float(r[2]), float(r[3])) for r in rows}

    @staticmethod
    def _job(row, counts: dict[str, int]) -> BatchJob:
        status = row["status"]
        if status == "running" and not _alive(row["pid"]):
            status = "interrupted"  # its process was killed (or the machine restarted)
        return BatchJob(
            id=row["id"],
            created_at=row["created_at"],
            owner=row["owner"],
            model=row["model"],
            engine=row["engine"],
            workers=row["workers"],
            gpus_per_worker=row["gpus_per_worker"],
            scoring=ScoringConfig.model_validate_json(row["scoring_json"]),
            events=EventConfig.model_validate_json(row["events_json"]),
            inputs=json.loads(row["inputs_json"]),
            status=status,
            cancel_requested=bool(row["cancel_requested"]),
            pid=row["pid"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            error=row["error"],
            summary=json.loads(row["summary_json"]),
            counts={s: int(counts.get(s, 0)) for s in ITEM_STATES},
        )


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited child not yet reaped by its parent) is not running the job
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def launch(job_id: str, db: Database | None = None, log_dir: Path | None = None) -> int:
    """Run a queued job in its own process (``python -m core batch --job ID``), detached from the
    caller's session so it outlives a page reload or a closed tab. Returns the process id."""
    db = db or Database()
    log_dir = log_dir or db.root / "batch-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "VIGIL_DATA_DIR": str(db.root), "PYTHONPATH": str(repo)}
    with open(log_dir / f"{job_id}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core", "batch", "--job", job_id, "--quiet"],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    threading.Thread(target=proc.wait, daemon=True).start()  # reap it when it ends: no zombie left behind
    with db.connect() as con:  # the job shows as running at once, before the process has started
        con.execute("UPDATE batch_jobs SET status='running', pid=? WHERE id=? AND status='queued'", (proc.pid, job_id))
    return proc.pid
