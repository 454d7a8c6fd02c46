"""The alert log as a Streamlit table: snapshot, time, email status, source, how long it was anomalous, peak.

Used by the Live page and meant for History too::

    from ui.alerts_view import render_alert_log
    render_alert_log(key="history-alerts")          # newest 50, with a "retry failed now" button
"""

from __future__ import annotations

import time
from datetime import datetime

import pandas as pd
import streamlit as st

from core.access import show_owner
from core.errors import VigilError
from core.images import jpeg_data_uri
from core.mailer import EmailNotConfiguredError
from core.outbox import AlertRecord, Outbox, Sender, list_alerts
from ui.services import app_settings


def _thumb_url(rec: AlertRecord) -> str | None:
    """A small data URL of the snapshot (thumbnails are ~10 KB, so a table of 50 stays light)."""
    return jpeg_data_uri(rec.thumb_path or rec.snapshot_path)


# The email's fate third: at 1024 px a table shows only its first columns without scrolling.
COLUMNS = [
    "snapshot",
    "time",
    "email",
    "source",
    "anomalous for (s)",
    "peak",
    "model",
    "owner",
    "attempts",
    "last error",
]


def alert_log_frame(
    alerts: list[AlertRecord], now: float | None = None, email_configured: bool | None = None
) -> pd.DataFrame:
    """One row per alert, columns in the words a person reads (``COLUMNS``; see ``render_alert_log``).

    "anomalous for (s)": the whole episode once it ended ("24.3"); while it goes on, or where its end was not
    recorded (alerts stored before ends were), "≥" its length when the alert fired ("≥ 1.2").
    ``email_configured``: see ``email_status``."""
    now = time.time() if now is None else now
    rows = [
        {
            "snapshot": _thumb_url(a),
            "time": datetime.fromtimestamp(a.started_at),
            "email": a.email_status(now, email_configured),  # words only: emoji render as empty boxes
            "source": a.source if a.kind == "alert" else f"digest ({len(a.details.get('suppressed', []))} held back)",
            "anomalous for (s)": _lasted(a),
            "peak": round(a.peak, 2),
            "model": a.model,
            "owner": show_owner(a.owner),
            "attempts": a.attempts,
            "last error": a.last_error or "",
        }
        for a in alerts
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _lasted(a: AlertRecord) -> str | None:
    if a.kind != "alert":
        return None
    return f"{a.lasted:.1f}" if a.lasted is not None else f"≥ {a.duration:.1f}"


def _email_configured() -> bool:
    """Whether alert emails can go out now (an SMTP host and a recipient are set)."""
    try:
        app_settings().smtp.ready()
    except EmailNotConfiguredError:
        return False
    return True


def render_alert_log(
    alerts: list[AlertRecord] | None = None,
    limit: int = 50,
    source: str | None = None,
    key: str = "alert-log",
    owner: str | None = None,
) -> None:
    """Draw the alert log (newest first). Loads ``list_alerts(limit, source, owner)`` when ``alerts`` is None.

    ``owner``: only that user's alerts (None: everyone's, for an admin or without login). Failed emails
    are visible with their error and next retry; a button makes them due at once.
    """
    try:
        alerts = list_alerts(limit=limit, source=source, owner=owner) if alerts is None else alerts
    except VigilError as err:
        st.error(str(err))
        return
    if not alerts:
        st.caption("No alerts yet.")
        return
    failed = [a for a in alerts if a.status == "failed"]
    waiting = [a for a in alerts if a.status == "pending"]
    sent = len(alerts) - len(failed) - len(waiting)
    configured = _email_configured()
    why = "" if configured else " (email not configured)"
    st.caption(
        f"{len(alerts)} most recent: {sent} emailed, {len(waiting)} waiting{why}, {len(failed)} failed (retried)."
    )
    st.dataframe(
        alert_log_frame(alerts, email_configured=configured),
        hide_index=True,
        width="stretch",
        column_config={
            "snapshot": st.column_config.ImageColumn("snapshot", width="small"),
            "time": st.column_config.DatetimeColumn("time", format="YYYY-MM-DD HH:mm:ss"),
            "email": st.column_config.TextColumn("email", width=230),  # "waiting: email not configured" fits
            "anomalous for (s)": st.column_config.TextColumn(
                "anomalous for (s)",
                help="how long the anomaly lasted; '≥' while it goes on (or if the camera stopped before the end "
                "was recorded): its length when the alert fired",
            ),
            "peak": st.column_config.ProgressColumn("peak", min_value=0.0, max_value=1.0, format="%.2f"),
        },
        key=f"{key}-table",
    )
    if failed and st.button(f"Retry {len(failed)} failed email(s) now", key=f"{key}-retry"):
        outbox = Outbox()
        for a in failed:
            outbox.retry_now(a.id)
        Sender.shared().wake()
        st.toast("Retrying now.")
