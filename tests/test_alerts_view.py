"""The alert log table: its duration column says what it measures, and the email's fate is among the first columns."""

from __future__ import annotations

import pytest

from core.alerts import Alert
from core.outbox import Outbox
from ui.alerts_view import alert_log_frame

T0 = 1_700_000_000.0


@pytest.fixture
def record():
    # an episode that began at T0 and raised its alert 1.2 s later (it may have gone on for much longer)
    return Outbox().record(Alert("alert", "browser camera", T0 + 1.2, T0, 0.8, T0 + 1.0), "motion")


def test_duration_column_is_the_whole_episode_once_it_ended(record):
    df = alert_log_frame([record], now=T0 + 30)
    assert "duration (s)" not in df.columns
    assert df.loc[0, "anomalous for (s)"] == "≥ 1.2"  # going on: at least what it had when the alert fired
    Outbox().mark_ended(record.id, T0 + 24.3)
    Outbox().mark_ended(record.id, T0 + 99.0)  # the first end stands
    ended = Outbox().get(record.id)
    assert ended.ended_at == pytest.approx(T0 + 24.3) and ended.lasted == pytest.approx(24.3)
    assert alert_log_frame([ended], now=T0 + 30).loc[0, "anomalous for (s)"] == "24.3"


def test_email_status_is_the_third_column_and_says_when_email_is_not_configured(record):
    df = alert_log_frame([record], now=T0 + 30, email_configured=False)
    assert list(df.columns[:3]) == ["snapshot", "time", "email"]  # visible at 1024 px without scrolling
    assert df.loc[0, "email"] == "waiting: email not configured"
    assert alert_log_frame([record], now=T0 + 30).loc[0, "email"] == "waiting to send"
