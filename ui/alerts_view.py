"""The alert log as a Streamlit table: when each alert fired, how long it had been anomalous and its peak then (as
its email says), how long the episode lasted, the email's fate, source, snapshot.

Used by the Live page and meant for History too::

    from ui.alerts_view import render_alert_log
    render_alert_log(key="history-alerts")          # newest 50, with a "retry failed now" button
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from core.access import show_owner
from core.errors import VigilError
from core.images import jpeg_data_uri
from core.mailer import EmailNotConfiguredError
from core.outbox import AlertRecord, Outbox, Sender, list_alerts
from ui.results import viewer_zone
from ui.services import app_settings


def _thumb_url(rec: AlertRecord) -> str | None:
    """A small data URL of the snapshot (thumbnails are ~10 KB, so a table of 50 stays light)."""
    return jpeg_data_uri(rec.thumb_path or rec.snapshot_path)


# The columns that match the email come first: at 1024 px a table shows only its first few without scrolling.
COLUMNS = [
    "alert at",
    "anomalous at alert (s)",
    "peak",  # headed "peak at alert" (render_alert_log); the data's name stays the one other pages' tests read
    "episode lasted (s)",
    "email",
    "source",
    "snapshot",
    "model",
    "owner",
    "attempts",
    "last error",
]


def alert_time(t: float, tz: str | None = None, now: datetime | None = None) -> str:
    """'Nov 22, 01:49:34' for epoch ``t`` (s) in the viewer's zone ``tz`` (None: the browser's, else the
    server's), as History writes times but to the second (the Live panel and the email name the alert's second);
    the year when it is not this year. ``now``: for tests."""
    when = datetime.fromtimestamp(t, UTC).astimezone(viewer_zone(tz))
    now = (now or datetime.now(UTC)).astimezone(when.tzinfo)
    year = f", {when.year}" if when.year != now.year else ""
    return f"{when:%b} {when.day}{year}, {when:%H:%M:%S}"


def alert_log_frame(
    alerts: list[AlertRecord],
    now: float | None = None,
    email_configured: bool | None = None,
    tz: str | None = None,
) -> pd.DataFrame:
    """One row per alert, columns in the words a person reads (``COLUMNS``; see ``render_alert_log``).

    The first three say what the alert's email says: when the alert fired ("alert at", the email's "alert at"),
    how long the score had been anomalous then (s; the email's "anomalous for") and the peak score up to then
    (0..1; the email's "peak"). "episode lasted (s)": the whole episode once it ended ("24.3"); while it goes on,
    or where its end was not recorded, "≥" its length at the alert ("≥ 1.2"). ``email_configured``: see
    ``email_status``; ``tz``: the zone times are written in (None: the viewer's)."""
    now = time.time() if now is None else now
    rows = [
        {
            "alert at": alert_time(a.fired_at, tz),
            "anomalous at alert (s)": f"{a.duration:.1f}" if a.kind == "alert" else None,
            "peak": round(a.peak, 2),
            "episode lasted (s)": _lasted(a),
            "email": a.email_status(now, email_configured),  # words only: emoji render as empty boxes
            "source": a.source if a.kind == "alert" else f"digest ({len(a.details.get('suppressed', []))} held back)",
            "snapshot": _thumb_url(a),
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
            "alert at": st.column_config.TextColumn(
                "alert at",
                help='When the alert fired: the time its email names ("alert at") and the Live panel\'s "Last alert"',
                width=140,
            ),
            "anomalous at alert (s)": st.column_config.TextColumn(
                "anomalous at alert (s)",
                help="How long the score had been above the threshold when the alert fired: the email's "
                '"anomalous for"',
            ),
            "peak": st.column_config.ProgressColumn(
                "peak at alert",
                min_value=0.0,
                max_value=1.0,
                format="%.2f",
                help='The highest score of the episode up to the alert: the email\'s "peak" (the episode may '
                "have gone higher after it)",
            ),
            "episode lasted (s)": st.column_config.TextColumn(
                "episode lasted (s)",
                help="How long the whole anomaly lasted; '≥' while it goes on (or if the camera stopped before "
                "its end was recorded): its length when the alert fired",
            ),
            "email": st.column_config.TextColumn("email", width=230),  # "waiting: email not configured" fits
            "snapshot": st.column_config.ImageColumn("snapshot", width="small"),
        },
        key=f"{key}-table",
    )
    if failed and st.button(f"Retry {len(failed)} failed email(s) now", key=f"{key}-retry"):
        outbox = Outbox()
        for a in failed:
            outbox.retry_now(a.id)
        Sender.shared().wake()
        st.toast("Retrying now.")
