"""The alert log table: each row says what its email says (alert time, anomalous for, peak) under names that say
so, the episode's whole length apart, and those columns first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.alerts import Alert
from core.outbox import Outbox, email_for
from ui.alerts_view import COLUMNS, alert_log_frame, alert_time

T0 = 1_700_000_000.0


@pytest.fixture
def record():
    # an episode that began at T0 and raised its alert 1.2 s later (it may have gone on for much longer)
    return Outbox().record(Alert("alert", "browser camera", T0 + 1.2, T0, 0.8, T0 + 1.0), "motion")


def test_episode_column_is_the_whole_episode_once_it_ended(record):
    df = alert_log_frame([record], now=T0 + 30)
    assert "anomalous for (s)" not in df.columns and "time" not in df.columns  # names that did not say which
    assert df.loc[0, "episode lasted (s)"] == "≥ 1.2"  # going on: at least what it had when the alert fired
    Outbox().mark_ended(record.id, T0 + 24.3)
    Outbox().mark_ended(record.id, T0 + 99.0)  # the first end stands
    ended = Outbox().get(record.id)
    assert ended.ended_at == pytest.approx(T0 + 24.3) and ended.lasted == pytest.approx(24.3)
    row = alert_log_frame([ended], now=T0 + 30).loc[0]
    assert row["episode lasted (s)"] == "24.3"
    assert row["anomalous at alert (s)"] == "1.2"  # the alert's own figure stays


def test_a_row_says_what_its_email_says():
    """Walk 4 #4: email "anomalous for 4 s (peak 0.62)", "alert at 01:49:34"; the log showed the episode's start
    as "time" and 12.1 s (the whole episode) beside the peak at the alert."""
    fired = datetime(2026, 11, 22, 1, 49, 34, tzinfo=UTC).timestamp()
    rec = Outbox().record(Alert("alert", "fights.mp4", fired, fired - 4.3, 0.62, fired - 1.0), "vigil v3")
    Outbox().mark_ended(rec.id, fired - 4.3 + 12.1)
    rec = Outbox().get(rec.id)
    mail = email_for(rec)
    assert "anomalous for 4 s (peak 0.62" in mail.subject
    assert f"(alert at {datetime.fromtimestamp(fired):%H:%M:%S})" in mail.body
    row = alert_log_frame([rec], now=fired + 60, tz="UTC").loc[0]
    assert row["alert at"] == alert_time(fired, "UTC") == "Nov 22, 01:49:34"
    assert row["anomalous at alert (s)"] == "4.3"
    assert row["peak"] == pytest.approx(0.62)  # headed "peak at alert"
    assert row["episode lasted (s)"] == "12.1"


def test_alert_time_is_the_apps_format_in_the_viewers_zone():
    t = datetime(2026, 11, 22, 1, 49, 34, tzinfo=UTC).timestamp()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert alert_time(t, "UTC", now) == "Nov 22, 01:49:34"
    assert alert_time(t, "Europe/Berlin", now) == "Nov 22, 02:49:34"
    assert alert_time(t, "UTC", datetime(2027, 1, 2, tzinfo=UTC)) == "Nov 22, 2026, 01:49:34"


def test_key_columns_come_before_snapshot_email_and_source(record):
    """At 1024 px the table shows its first three or four columns without a sideways scroll."""
    df = alert_log_frame([record], now=T0 + 30, email_configured=False)
    assert list(df.columns) == COLUMNS
    assert COLUMNS[:4] == ["alert at", "anomalous at alert (s)", "peak", "episode lasted (s)"]
    assert max(COLUMNS.index(c) for c in COLUMNS[:4]) < min(COLUMNS.index(c) for c in ("snapshot", "email", "source"))


def test_email_status_says_when_email_is_not_configured(record):
    assert alert_log_frame([record], now=T0 + 30, email_configured=False).loc[0, "email"] == (
        "waiting: email not configured"
    )
    assert alert_log_frame([record], now=T0 + 30).loc[0, "email"] == "waiting to send"
