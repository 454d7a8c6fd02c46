"""What the Live page says: an alert's heading tells the email's real fate, a stopped feed reads as stopped."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from test_live import ScriptedScorer, frame, wait_for

from core.alerts import Alert, AlertConfig, RuleState, RuleStatus
from core.live import STALE_S, LiveProcessor, LiveSnapshot, LiveStats
from core.outbox import Outbox
from ui.live_state import alert_line, email_fate, episode_alert, last_readings, state_heading

T0 = 1_700_000_000.0


def alerted_snapshot(last_alert, anomalous_for: float = 18.0, frame_age: float | None = 0.1) -> LiveSnapshot:
    """A snapshot 18 s into an episode that already raised its alert (history ends at T0 + 30)."""
    status = RuleStatus(RuleState.ALERTED, 0.45, anomalous_for, 0.0, False)
    history = [(T0 + 30.0 - i, 0.4, 0.45) for i in range(10, -1, -1)]
    return LiveSnapshot(
        running=True,
        model="motion",
        score=0.4,
        status=status,
        history=history,
        stats=LiveStats(processed_fps=8.4, camera_fps=15, latency_ms=44, dropped=37),
        threshold=0.2,
        warming_up=False,
        last_alert=last_alert,
        frame_age=frame_age,
        readings_at=T0 + 30.0,
    )


@pytest.fixture
def pending_alert():
    """An alert of this episode (started T0 + 12, raised 1 s later), stored and not emailed."""
    rec = Outbox().record(Alert("alert", "browser camera", T0 + 13.0, T0 + 12.0, 0.5, T0 + 12.5), "motion")
    assert rec.status == "pending"
    return rec


def test_heading_says_alert_raised_and_that_email_is_not_configured(pending_alert):
    snap = alerted_snapshot(pending_alert)
    assert episode_alert(snap) == pending_alert
    fate = email_fate(pending_alert, configured=False)
    assert fate == "email not configured"
    heading = state_heading(snap, fate)
    assert heading == ":red[:material/notifications_active: alert raised, email not configured — anomalous for 18s]"
    assert "sent" not in heading


def test_email_fate_says_what_happened(pending_alert):
    out = Outbox()
    assert email_fate(pending_alert, configured=True) == "email waiting to send"
    assert email_fate(None, configured=True) == "email being prepared"  # the alert is still being written
    out.mark_failed(pending_alert.id, "connection refused", retry_in=30.0)
    assert email_fate(out.get(pending_alert.id), configured=True) == "email failed, retrying"
    out.mark_sent(pending_alert.id)
    assert email_fate(out.get(pending_alert.id), configured=False) == "email sent"


def test_an_earlier_episodes_alert_is_not_this_ones(pending_alert):
    # the episode began at T0 + 30 - 5 = T0 + 25; the stored alert fired at T0 + 13, in an earlier one
    assert episode_alert(alerted_snapshot(pending_alert, anomalous_for=5.0)) is None


def test_unsent_email_status_says_email_is_not_configured(pending_alert):
    assert pending_alert.email_status(T0) == "waiting to send"
    assert pending_alert.email_status(T0, configured=False) == "waiting: email not configured"


def test_after_stop_the_snapshot_is_not_current_and_keeps_the_rates_of_the_end():
    clock = [T0]
    proc = LiveProcessor(ScriptedScorer(lambda t, f: 0.1), "m", AlertConfig(), clock=lambda: clock[0])
    try:
        for i in range(30):  # 3 s at 10 fps
            clock[0] = T0 + i / 10
            proc.submit(frame(), clock[0])
            assert wait_for(lambda n=i: proc.snapshot().stats.frames_scored == n + 1, 5)
        live = proc.snapshot()
        clock[0] = T0 + 2.9 + STALE_S + 7.0  # the camera stopped 10 s ago
        stopped = proc.snapshot()
    finally:
        proc.stop()
    assert live.current and live.frame_age == pytest.approx(0.0) and live.readings_at == pytest.approx(T0 + 2.9)
    assert not stopped.current and stopped.frame_age == pytest.approx(10.0)
    assert stopped.readings_at == pytest.approx(T0 + 2.9)  # the last frame, not now
    assert stopped.stats.processed_fps == pytest.approx(10.0)  # the rate at the end, not a decay to 0
    assert state_heading(stopped, playing=False) == ":gray[:material/stop_circle: stopped]"
    assert state_heading(stopped) == ":gray[:material/videocam_off: no video]"  # a server source gone quiet
    when = time.strftime("%H:%M:%S", time.localtime(T0 + 2.9))
    assert last_readings(stopped, playing=False) == (
        f"Camera stopped (last frame {when}). Last readings: normal, score 0.10, latency "
        f"{stopped.stats.latency_ms:.0f} ms, 0% of camera frames skipped (last 2 s); 30 frames scored and 0 skipped "
        "since the start. The chart shows the minute before."
    )
    assert last_readings(stopped).startswith(f"No frames for 10 s (last frame {when}). Last readings:")


def test_a_live_feed_shows_its_state_even_with_the_camera_playing(pending_alert):
    snap = alerted_snapshot(pending_alert)
    assert state_heading(snap, "email sent", playing=True).endswith(
        "[:material/notifications_active: alert raised, email sent — anomalous for 18s]"
    )
    assert state_heading(snap, playing=False) == ":gray[:material/stop_circle: stopped]"
    stale = alerted_snapshot(pending_alert, frame_age=STALE_S + 0.5)
    assert state_heading(stale, playing=True) == ":gray[:material/videocam_off: no video]"


def test_the_alert_line_says_whose_episode_its_duration_belongs_to(pending_alert):
    """The heading's "anomalous for 18s" is the current episode so far; the alert line's duration is how long
    its own episode had lasted when it fired, and it says which episode that was."""
    when = time.strftime("%H:%M:%S", time.localtime(T0 + 13.0))
    this = alerted_snapshot(pending_alert)  # 18 s into the episode that raised it 1 s in
    assert alert_line(this, pending_alert) == (
        f"Last alert {when} (this episode): raised 1 s into its episode, peak 0.50 — email waiting to send"
    )
    later = alerted_snapshot(pending_alert, anomalous_for=5.0)  # a newer episode, 5 s old, its alert not yet stored
    assert alert_line(later, pending_alert).startswith(f"Last alert {when} (an earlier episode): raised 1 s into")
    calm = replace(this, status=RuleStatus(RuleState.NORMAL, 0.1, 0.0, 0.0, False))
    assert alert_line(calm, pending_alert, email_configured=False).startswith(f"Last alert {when}: raised 1 s into")


def test_the_stopped_line_gives_the_recent_skipped_share_and_the_total_apart(pending_alert):
    snap = replace(
        alerted_snapshot(pending_alert, frame_age=STALE_S + 2.0),
        stats=LiveStats(latency_ms=44, frames_in=5000, frames_scored=1400, dropped=3600, skipped=0.12),
    )
    assert last_readings(snap).endswith(
        "latency 44 ms, 12% of camera frames skipped (last 2 s); 1400 frames scored and 3600 skipped since the "
        "start. The chart shows the minute before."
    )


def test_rule_words_name_the_rule_a_source_runs_with():
    from core.alerts import AlertConfig
    from ui.live_state import rule_words

    assert rule_words(AlertConfig(threshold=0.9, seconds=3.0, cooldown=120.0)) == (
        "score above 0.90 for 3 s, cooldown 120 s"
    )


def test_the_panel_shows_the_chosen_source_while_it_lasts_else_the_newest():
    from ui.live_state import shown_source, source_names

    assert shown_source([], None) is None
    assert shown_source(["a", "b"], None) == "b"  # the newest by default
    assert shown_source(["a", "b"], "a") == "a"  # the user's choice stands
    assert shown_source(["b", "c"], "a") == "c"  # a removed choice falls back to the newest
    assert source_names(["door.mp4", "yard.mp4", "door.mp4"]) == ["door.mp4", "yard.mp4", "door.mp4 (2)"]


def test_the_email_line_names_the_encryption_not_a_bare_none():
    """Walk 3: "127.0.0.1:8025 (none) → a@b.c" read as "no recipient"."""
    from core.mailer import SmtpSettings

    plain = SmtpSettings(host="127.0.0.1", port=8025, security="none", to="a@b.c")
    assert plain.describe() == "127.0.0.1:8025 (no encryption) → a@b.c"
    assert "(STARTTLS)" in SmtpSettings(host="mx", security="starttls", to="a@b.c").describe()


def test_the_camera_keeps_its_processor_when_the_model_changes_so_its_cooldown_and_cap_hold():
    """A new model for the browser camera is swapped into its processor (LiveProcessor.set_model), not a new
    processor with a fresh rule: the cooldown of an alert just sent held no longer and a second email went out."""
    from ui.live_state import LiveSession

    session, cfg = LiveSession(), AlertConfig()
    first = session.camera_processor(("a", "1"), ScriptedScorer(), "a v1", cfg, sender=None)
    try:
        again = session.camera_processor(("b", "2"), ScriptedScorer(), "b v2", cfg.with_threshold(0.3), sender=None)
        assert again is first and session.processor_key == ("b", "2")
        assert (first.model, first.next_model, first.cfg.threshold) == ("a v1", "b v2", 0.3)
        first.submit(frame(), time.time())
        assert wait_for(lambda: first.model == "b v2" and first.model_name == "b", 5)
    finally:
        first.stop()


def test_start_after_stop_begins_a_fresh_run_and_a_dead_feed_says_why_it_stopped():
    """Walk 4, finding 2: after STOP and START the heading read "alert raised, email sent" and Score 0.78 from the
    run before; the first run had stopped by itself with no word why."""
    from ui.live_state import LiveSession

    clock = [T0]
    session = LiveSession()
    proc = session.camera_processor(("m", "1"), ScriptedScorer(lambda t, f: 0.9), "m v1", AlertConfig(), None)
    proc.clock = lambda: clock[0]
    try:
        session.set_playing(True)
        for i in range(30):
            clock[0] = T0 + i / 10
            proc.submit(frame(), clock[0])
            assert wait_for(lambda n=i: proc.snapshot().stats.frames_scored == n + 1, 5)
        assert proc.snapshot().history
        clock[0] = T0 + 2.9 + 8.0  # no frame for 8 s, then the connection closed (not a STOP press)
        session.set_playing(False)
        assert session.stop_reason == "no frames had come for 8 s before it stopped; the connection may have dropped"
        stopped = proc.snapshot()
        when = time.strftime("%H:%M:%S", time.localtime(T0 + 2.9))
        assert last_readings(stopped, False, session.stop_reason).startswith(
            f"Camera stopped (last frame {when}): no frames had come for 8 s before it stopped; the connection may "
            "have dropped. Press START again. Last readings: "
        )
        session.set_playing(True)  # START again
        fresh = proc.snapshot()
        assert session.stop_reason is None and fresh.history == [] and fresh.score == 0.0
        assert state_heading(fresh, playing=True) == (
            ":gray[:material/hourglass_top: connecting (waiting for the first frame)]"
        )
        assert last_readings(fresh, True) == "Waiting for the camera's first frame."
        session.set_playing(False)  # a STOP press with frames flowing is no failure
        assert session.stop_reason is None
        session.set_playing(True)
        proc.submit(frame(), clock[0])
        clock[0] += 300.0  # the page was left for 5 minutes: the camera ended with it, no claim of a dead feed
        session.set_playing(False)
        assert session.stop_reason is None
    finally:
        proc.stop()


def test_a_camera_whose_frames_stopped_while_playing_says_to_start_again(pending_alert):
    stale = alerted_snapshot(pending_alert, frame_age=STALE_S + 5.0)
    assert "the camera stopped sending frames. If none come back, press STOP, then START again." in last_readings(
        stale, playing=True
    )
    assert "press STOP" not in last_readings(stale)  # a server source reconnects by itself


def test_the_heading_never_counts_down_to_zero_seconds(pending_alert):
    snap = replace(alerted_snapshot(pending_alert), status=RuleStatus(RuleState.COOLDOWN, 0.7, 1.4, 0.4, False))
    assert state_heading(snap) == ":blue[:material/schedule: cooldown (1s left, anomalous for 1s)]"


def test_the_heading_says_when_its_state_is_the_last_score_of_a_stuck_model(pending_alert):
    """Walk 4, finding 2: frames kept coming while the model was stuck, and the heading read as current."""
    snap = replace(
        alerted_snapshot(pending_alert),
        status=RuleStatus(RuleState.ANOMALOUS, 0.7, 3.2, 0.0, False),
        stats=LiveStats(scored_at=T0 + 30.0 - 12.0),
    )
    assert state_heading(snap) == ":orange[:material/warning: anomalous for 3s] :gray[(no new score for 12 s)]"
    fresh = replace(snap, stats=LiveStats(scored_at=T0 + 29.5))
    assert state_heading(fresh) == ":orange[:material/warning: anomalous for 3s]"


def test_warming_up_reads_in_the_pictures_hue(pending_alert):
    """A browser look found a grey "warming up" heading beside the picture's green (normal) border."""
    snap = replace(
        alerted_snapshot(pending_alert), warming_up=True, status=RuleStatus(RuleState.NORMAL, 0.0, 0.0, 0.0, False)
    )
    assert state_heading(snap) == ":green[:material/hourglass_top: warming up (learning this scene's usual motion)]"
