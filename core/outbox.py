"""Alert outbox: every alert is stored (row + snapshot JPEG) BEFORE any email is tried, then a sender
thread delivers it with retries and exponential backoff. Nothing is ever dropped: a failed send keeps
its row with status ``failed``, the attempt count and the last error, and is retried (backoff capped at
``max_backoff``) until it goes through — also after a restart, since the queue is the database.

Sending is at-least-once: a row is *claimed* with a lease before sending, so two senders (two Streamlit
processes on one data folder) do not both send it, and a sender killed mid-send leaves a lease that
expires and the row is sent again.

Times are epoch seconds (``time.time()``); the live engine feeds the rule with the same clock.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from core.alerts import Alert, AlertConfig
from core.db import Database, register_column, register_schema
from core.errors import NotFoundError
from core.images import write_jpeg
from core.mailer import EmailError, EmailMessage, SmtpSettings, send

log = logging.getLogger("vigil.outbox")

register_schema(
    "alerts",
    """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,                 -- alert | digest
    source TEXT NOT NULL,
    model TEXT NOT NULL,
    created_at REAL NOT NULL,           -- epoch s, when recorded
    fired_at REAL NOT NULL,             -- epoch s, when the rule fired
    started_at REAL NOT NULL,           -- epoch s, episode (or digest window) start
    duration REAL NOT NULL,             -- s anomalous when fired
    peak REAL NOT NULL,                 -- 0..1
    peak_at REAL NOT NULL,              -- epoch s
    snapshot_path TEXT,                 -- relative to the data folder
    thumb_path TEXT,
    details_json TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | failed | sent
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at REAL NOT NULL,
    claimed_until REAL,
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS alerts_due ON alerts (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts (fired_at);
""",
)

# The signed-in address of whoever ran the source ("" without login). Added after release: a column.
register_column("alerts", "owner", "TEXT NOT NULL DEFAULT ''")
# When the alerted episode ended (epoch s; NULL while it goes on, or for a digest). Added after release.
register_column("alerts", "ended_at", "REAL")

Status = Literal["pending", "failed", "sent"]
THUMB_WIDTH = 192


@dataclass(frozen=True)
class AlertRecord:
    """One stored alert and its email's fate. Times epoch s; ``duration`` s; ``peak`` 0..1."""

    id: str
    kind: str
    source: str
    model: str
    created_at: float
    fired_at: float
    started_at: float
    duration: float
    peak: float
    peak_at: float
    snapshot_path: Path | None
    thumb_path: Path | None
    details: dict = field(default_factory=dict)
    status: Status = "pending"
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: float = 0.0
    sent_at: float | None = None
    owner: str = ""
    ended_at: float | None = None  # when the episode ended (None: still going, or never recorded)

    @property
    def lasted(self) -> float | None:
        """The whole episode's length in s, once it ended (``duration`` is its length when the alert fired)."""
        return None if self.ended_at is None else max(self.duration, self.ended_at - self.started_at)

    def email_status(self, now: float | None = None, configured: bool | None = None) -> str:
        """The email's fate in words, e.g. "sent 14:03:12" or "failed ×3, retry in 40 s: <error>".

        ``configured``: whether email is set up now (None: unknown). An unsent email while email is not
        configured says why it waits ("waiting: email not configured")."""
        if self.status == "sent":
            return f"sent {_clock(self.sent_at or 0.0)}" + (
                f" after {self.attempts} attempts" if self.attempts > 1 else ""
            )
        if configured is False:
            return "waiting: email not configured"
        if self.status == "pending" and self.attempts == 0:
            return "waiting to send" + (f" ({self.last_error})" if self.last_error else "")
        now = time.time() if now is None else now
        wait = max(0.0, self.next_attempt_at - now)
        return f"failed ×{self.attempts}, retry in {wait:.0f} s: {self.last_error or 'unknown error'}"


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%H:%M:%S")


def _when(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _row(r, root: Path) -> AlertRecord:
    return AlertRecord(
        id=r["id"],
        kind=r["kind"],
        source=r["source"],
        model=r["model"],
        created_at=r["created_at"],
        fired_at=r["fired_at"],
        started_at=r["started_at"],
        duration=r["duration"],
        peak=r["peak"],
        peak_at=r["peak_at"],
        snapshot_path=root / r["snapshot_path"] if r["snapshot_path"] else None,
        thumb_path=root / r["thumb_path"] if r["thumb_path"] else None,
        details=json.loads(r["details_json"] or "{}"),
        status=r["status"],
        attempts=r["attempts"],
        last_error=r["last_error"],
        next_attempt_at=r["next_attempt_at"],
        sent_at=r["sent_at"],
        owner=r["owner"],
        ended_at=r["ended_at"],
    )


class Outbox:
    """The alerts table and its snapshot files (``<data dir>/alerts/``). Thread-safe (a connection per call)."""

    def __init__(self, db: Database | None = None):
        self.db = db or Database()

    @property
    def files_dir(self) -> Path:
        return self.db.root / "alerts"

    # --- write -----------------------------------------------------------------------------------
    def record(
        self,
        alert: Alert,
        model: str,
        snapshot: np.ndarray | None = None,
        cfg: AlertConfig | None = None,
        now: float | None = None,
        owner: str = "",
    ) -> AlertRecord:
        """Store ``alert`` (times epoch s) with its snapshot (BGR uint8 (H,W,3)); it is then due at once.

        The image files are written first and the row last, so a crash leaves at most an orphan file,
        never a row pointing at nothing.
        """
        now = time.time() if now is None else now
        aid = datetime.fromtimestamp(alert.t).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        snap_rel = thumb_rel = None
        if snapshot is not None and snapshot.size:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            snap_rel, thumb_rel = f"alerts/{aid}.jpg", f"alerts/{aid}.thumb.jpg"
            write_jpeg(self.db.root / snap_rel, snapshot, 88)
            h, w = snapshot.shape[:2]
            tw = min(THUMB_WIDTH, w)
            thumb = cv2.resize(snapshot, (tw, max(1, round(h * tw / w))), interpolation=cv2.INTER_AREA)
            write_jpeg(self.db.root / thumb_rel, thumb, 80)
        details: dict = {}
        if cfg is not None:
            details["rule"] = {"threshold": cfg.threshold, "seconds": cfg.seconds, "cooldown": cfg.cooldown}
        if alert.cause:
            details["cause"] = alert.cause
        if alert.suppressed:
            details["suppressed"] = [
                {"t": s.t, "start": s.start, "peak": s.peak, "source": s.source} for s in alert.suppressed
            ]
        with self.db.connect() as con:
            con.execute(
                "INSERT INTO alerts (id, kind, source, model, created_at, fired_at, started_at, duration, peak,"
                " peak_at, snapshot_path, thumb_path, details_json, status, next_attempt_at, owner)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (
                    aid,
                    alert.kind,
                    alert.source,
                    model,
                    now,
                    alert.t,
                    alert.start,
                    alert.duration,
                    alert.peak,
                    alert.peak_t,
                    snap_rel,
                    thumb_rel,
                    json.dumps(details),
                    now,
                    owner,
                ),
            )
        return self.get(aid)

    def claim_due(self, now: float | None = None, lease: float = 120.0, limit: int = 20) -> list[AlertRecord]:
        """Rows whose email is due, leased to the caller for ``lease`` s (oldest first)."""
        now = time.time() if now is None else now
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT * FROM alerts WHERE status != 'sent' AND next_attempt_at <= ?"
                " AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY fired_at LIMIT ?",
                (now, now, limit),
            ).fetchall()
            con.executemany("UPDATE alerts SET claimed_until = ? WHERE id = ?", [(now + lease, r["id"]) for r in rows])
        return [_row(r, self.db.root) for r in rows]

    def mark_sent(self, alert_id: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.db.connect() as con:
            con.execute(
                "UPDATE alerts SET status = 'sent', attempts = attempts + 1, sent_at = ?, claimed_until = NULL"
                " WHERE id = ?",
                (now, alert_id),
            )

    def mark_failed(self, alert_id: str, error: str, retry_in: float, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.db.connect() as con:
            con.execute(
                "UPDATE alerts SET status = 'failed', attempts = attempts + 1, last_error = ?,"
                " next_attempt_at = ?, claimed_until = NULL WHERE id = ?",
                (error, now + retry_in, alert_id),
            )

    def mark_ended(self, alert_id: str, ended_at: float) -> None:
        """Record when the alert's episode ended (the first time only)."""
        with self.db.connect() as con:
            con.execute("UPDATE alerts SET ended_at = ? WHERE id = ? AND ended_at IS NULL", (ended_at, alert_id))

    def retry_now(self, alert_id: str, now: float | None = None) -> None:
        """Make a failed email due at once (the "retry now" button)."""
        now = time.time() if now is None else now
        with self.db.connect() as con:
            con.execute("UPDATE alerts SET next_attempt_at = ? WHERE id = ? AND status != 'sent'", (now, alert_id))

    # --- read ------------------------------------------------------------------------------------
    def get(self, alert_id: str) -> AlertRecord:
        with self.db.connect() as con:
            r = con.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        if r is None:
            raise NotFoundError(f"No alert with id {alert_id}.")
        return _row(r, self.db.root)

    def list(
        self,
        limit: int = 100,
        source: str | None = None,
        since: float | None = None,
        status: Status | None = None,
        owner: str | None = None,
    ) -> list[AlertRecord]:
        """Newest first. ``since`` epoch s; ``status`` filters (e.g. "failed" for the problem list);
        ``owner`` keeps one user's alerts."""
        where, args = [], []
        if owner is not None:
            where.append("owner = ?")
            args.append(owner)
        if source is not None:
            where.append("source = ?")
            args.append(source)
        if since is not None:
            where.append("fired_at >= ?")
            args.append(since)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        sql = "SELECT * FROM alerts" + (" WHERE " + " AND ".join(where) if where else "")
        with self.db.connect() as con:
            rows = con.execute(sql + " ORDER BY fired_at DESC, created_at DESC LIMIT ?", (*args, limit)).fetchall()
        return [_row(r, self.db.root) for r in rows]

    def alert_times(self, source: str, owner: str, since: float) -> list[float]:
        """When each alert (not digest) of ``source`` run by ``owner`` fired at or after ``since`` (epoch s, oldest
        first), whatever its email's fate: what an hourly cap already spent (core.alerts.SustainedRule.seed_cap)."""
        with self.db.connect() as con:
            rows = con.execute(
                "SELECT fired_at FROM alerts WHERE kind = 'alert' AND source = ? AND owner = ? AND fired_at >= ?"
                " ORDER BY fired_at",
                (source, owner, since),
            ).fetchall()
        return [r["fired_at"] for r in rows]

    def counts(self) -> dict[str, int]:
        """{status: count} over all alerts, for a summary line."""
        with self.db.connect() as con:
            rows = con.execute("SELECT status, COUNT(*) AS n FROM alerts GROUP BY status").fetchall()
        return {r["status"]: r["n"] for r in rows}


def list_alerts(
    limit: int = 100,
    source: str | None = None,
    since: float | None = None,
    status: Status | None = None,
    db: Database | None = None,
    owner: str | None = None,
) -> list[AlertRecord]:
    """The alert log, newest first (what the History and Live pages show). See ``AlertRecord``.

    ``owner``: only that user's alerts (None: everyone's)."""
    return Outbox(db).list(limit, source, since, status, owner)


# --- email content --------------------------------------------------------------------------------
def email_for(rec: AlertRecord) -> EmailMessage:
    """The email for a stored alert: why (the cause), when, how long, peak score, model; the peak frame attached."""
    attach = (rec.snapshot_path,) if rec.snapshot_path and rec.snapshot_path.is_file() else ()
    if rec.kind == "digest":
        items = rec.details.get("suppressed", [])
        lines = [
            f"  - {_when(s['start'])}: {s['source']}, peak {s['peak']:.2f}, alert due at {_clock(s['t'])}"
            for s in items
        ]
        body = (
            f"Vigil held back {len(items)} alert(s) because the hourly email cap was reached.\n\n"
            f"Window: {_when(rec.started_at)} to {_when(rec.fired_at)}\n"
            f"Highest peak score: {rec.peak:.2f}\n"
            f"Model: {rec.model}\n\n" + "\n".join(lines) + "\n"
        )
        return EmailMessage(f"Vigil digest: {len(items)} alert(s) held back by the hourly cap", body, attach)
    rule = rec.details.get("rule", {})
    why = (
        f" (rule: smoothed score above {rule['threshold']:.2f} for {rule['seconds']:g} s)"
        if {"threshold", "seconds"} <= rule.keys()
        else ""
    )
    cause = rec.details.get("cause", "")
    body = (
        "Vigil detected sustained anomalous activity.\n\n"
        + (f"Why:        {cause}\n" if cause else "")
        + f"Source:     {rec.source}\n"
        f"When:       {_when(rec.started_at)} (alert at {_clock(rec.fired_at)})\n"
        f"How long:   {rec.duration:.1f} s anomalous when the alert fired{why}\n"
        f"Peak score: {rec.peak:.2f} (0..1) at {_clock(rec.peak_at)}\n"
        f"Model:      {rec.model}\n\n"
        + ("The attached image is the frame at the peak score.\n" if attach else "No snapshot was available.\n")
    )
    subject = f"Vigil alert: {rec.source} anomalous for {rec.duration:.0f} s (peak {rec.peak:.2f}" + (
        f", {cause})" if cause else ")"
    )
    return EmailMessage(subject, body, attach)


# --- the sender thread ----------------------------------------------------------------------------
class Sender:
    """Background thread that delivers due outbox rows, retrying with exponential backoff.

    ``settings`` may be None (email not configured): rows then wait, untouched, until ``configure``
    gives settings. ``send_due`` does one pass synchronously (tests, CLI); ``start`` runs passes every
    ``poll`` s or as soon as ``wake`` is called.
    """

    _shared: dict[str, Sender] = {}
    _shared_lock = threading.Lock()

    def __init__(
        self,
        outbox: Outbox | None = None,
        settings: SmtpSettings | None = None,
        base_backoff: float = 10.0,
        max_backoff: float = 600.0,
        poll: float = 5.0,
    ):
        self.outbox = outbox or Outbox()
        self.settings = settings
        self.base_backoff, self.max_backoff, self.poll = base_backoff, max_backoff, poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, db: Database | None = None) -> Sender:
        """The process's one running sender for a database (a service like a thread pool, not session
        state: every session records into the same outbox, and one thread drains it)."""
        db = db or Database()
        key = str(db.path.resolve())
        with cls._shared_lock:
            sender = cls._shared.get(key)
            if sender is None or not sender.running:
                sender = cls(Outbox(db))
                cls._shared[key] = sender
                sender.start()
            return sender

    def configure(self, settings: SmtpSettings | None) -> None:
        if settings != self.settings:
            self.settings = settings
            self.wake()

    def backoff(self, attempts: int) -> float:
        """Seconds before retry number ``attempts + 1`` (attempts >= 1): base * 2^(attempts-1), capped."""
        return min(self.max_backoff, self.base_backoff * 2 ** max(0, attempts - 1))

    def send_due(self, now: float | None = None) -> int:
        """One pass: send every due row. Returns how many were sent. Never raises for email errors."""
        settings = self.settings
        if settings is None:
            return 0
        sent = 0
        with self._lock:  # one pass at a time per sender
            for rec in self.outbox.claim_due(now):
                try:
                    send(settings, email_for(rec))
                except EmailError as err:
                    t = time.time() if now is None else now
                    self.outbox.mark_failed(rec.id, str(err), self.backoff(rec.attempts + 1), t)
                    log.warning("alert %s: email failed (attempt %d): %s", rec.id, rec.attempts + 1, err)
                    continue
                self.outbox.mark_sent(rec.id, now)
                sent += 1
        return sent

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Sender:
        if not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="vigil-alert-sender", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_due()
            except Exception:  # noqa: BLE001 - a DB hiccup must not kill the only sender; next pass retries
                log.exception("alert sender pass failed")
            self._wake.wait(self.poll)
            self._wake.clear()
