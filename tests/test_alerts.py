"""The sustained-anomaly rule with explicit timestamps: N seconds, hysteresis, cooldown, cap, digest."""

from __future__ import annotations

import numpy as np
import pytest

from core.alerts import AlertConfig, RuleState, RuleStatus, SustainedRule, backtest
from core.errors import ConfigError
from core.events import ScoreTrack


def cfg(**kw) -> AlertConfig:
    base = dict(threshold=0.5, hysteresis=0.1, seconds=3.0, cooldown=10.0, cap_per_hour=100, smooth_seconds=0.0)
    base.update(kw)
    return AlertConfig(**base)


def fire_times(rule: SustainedRule, samples, source: str = "cam") -> list[tuple[str, float]]:
    out = []
    for t, s in samples:
        out += [(a.kind, a.t) for a in rule.update(t, s, source)]
    return out


def at_1hz(scores, t0: float = 0.0):
    return [(t0 + i, s) for i, s in enumerate(scores)]


HIGH, LOW, BAND = 0.9, 0.1, 0.45  # BAND: below the on threshold (0.5), above the off threshold (0.4)


@pytest.mark.parametrize(
    "name, settings, samples, expected",
    [
        ("empty", {}, [], []),
        ("calm", {}, at_1hz([LOW] * 20), []),
        ("sustained fires once at N s", {}, at_1hz([HIGH] * 20), [("alert", 3.0)]),
        ("late start", {}, at_1hz([LOW] * 5 + [HIGH] * 10), [("alert", 8.0)]),
        ("too short", {}, at_1hz([HIGH] * 3 + [LOW] * 10), []),
        ("exactly N s is enough", {}, at_1hz([HIGH] * 4 + [LOW] * 5), [("alert", 3.0)]),
        ("flapping below off never sustains", {}, at_1hz([HIGH, LOW] * 10), []),
        ("flapping inside the hysteresis band sustains", {}, at_1hz([HIGH, BAND] * 10), [("alert", 3.0)]),
        ("band only never opens", {}, at_1hz([BAND] * 20), []),
        # A 2 s trailing mean of LOW/HIGH alternating at 1 Hz is 0.1 then 0.5: never above 0.5 ...
        ("smoothed flapping that averages low stays quiet", {"smooth_seconds": 2.0}, at_1hz([LOW, HIGH] * 10), []),
        # ... but HIGH/0.3 averages 0.6: a flickering fight still alerts.
        (
            "smoothed flapping that averages high alerts",
            {"smooth_seconds": 2.0},
            at_1hz([HIGH, 0.3] * 10),
            [("alert", 3.0)],
        ),
        ("a single spike is smoothed away", {"smooth_seconds": 3.0}, at_1hz([LOW] * 5 + [1.0] + [LOW] * 10), []),
        ("N = 0 fires on the first high sample", {"seconds": 0.0}, at_1hz([LOW, HIGH, HIGH]), [("alert", 1.0)]),
        (
            "second episode after the cooldown",
            {},
            at_1hz([HIGH] * 5 + [LOW] * 10 + [HIGH] * 5),
            [("alert", 3.0), ("alert", 18.0)],
        ),
        (
            "short episode inside the cooldown is dropped",
            {},
            at_1hz([HIGH] * 5 + [LOW] * 2 + [HIGH] * 4 + [LOW] * 10),
            [("alert", 3.0)],
        ),
        # Episode B starts at 7, is N s old at 10, but the cooldown (from 3) ends at 13: it fires then.
        (
            "episode outlasting the cooldown fires when it ends",
            {},
            at_1hz([HIGH] * 5 + [LOW] * 2 + [HIGH] * 12),
            [("alert", 3.0), ("alert", 13.0)],
        ),
        ("a long episode alerts once", {"cooldown": 0.0}, at_1hz([HIGH] * 100), [("alert", 3.0)]),
        (
            "uneven timestamps use seconds, not samples",
            {},
            [(0.0, HIGH), (0.5, HIGH), (2.9, HIGH), (3.2, HIGH)],
            [("alert", 3.2)],
        ),
        ("NaN counts as zero", {}, at_1hz([HIGH] * 2 + [float("nan")] + [HIGH] * 5), [("alert", 6.0)]),
    ],
)
def test_rule_table(name, settings, samples, expected):
    assert fire_times(SustainedRule(cfg(**settings)), samples) == expected, name


def test_alert_carries_start_duration_and_peak():
    rule = SustainedRule(cfg())
    alerts = []
    for t, s in at_1hz([LOW, 0.7, 0.95, 0.8, 0.6, 0.6]):
        alerts += rule.update(t, s, "door")
    (a,) = alerts
    assert (a.kind, a.source, a.start, a.t, a.duration) == ("alert", "door", 1.0, 4.0, 3.0)
    assert (a.peak, a.peak_t) == (0.95, 2.0)


def test_an_alerted_episode_reports_its_end_once():
    rule = SustainedRule(cfg())
    for t, s in at_1hz([LOW, HIGH, HIGH, HIGH, HIGH, HIGH, HIGH, LOW, LOW]):
        rule.update(t, s, "door")
        if t == 6:
            assert rule.pop_ended() == []  # still going
    assert [(e.source, e.fired_t, e.t) for e in rule.pop_ended()] == [("door", 4.0, 7.0)]
    assert rule.pop_ended() == []
    # an episode that never alerted (too short) ends without a report
    for t, s in at_1hz([HIGH, LOW], t0=100.0):
        rule.update(t, s, "door")
    assert rule.pop_ended() == []


def test_a_source_that_stops_or_is_reconfigured_ends_its_alerted_episode():
    rule = SustainedRule(cfg())
    for t, s in at_1hz([HIGH] * 5):
        rule.update(t, s, "door")
    rule.end_open(4.5, "door")
    rule.end_open(9.0, "door")  # once only
    assert [(e.fired_t, e.t) for e in rule.pop_ended()] == [(3.0, 4.5)]
    other = SustainedRule(cfg())
    for t, s in at_1hz([HIGH] * 5):
        other.update(t, s, "door")
    other.reconfigure(cfg(threshold=0.99, hysteresis=0.05))  # 0.9 is below the new off line: it ends at its last sample
    assert [(e.fired_t, e.t) for e in other.pop_ended()] == [(3.0, 4.0)]


def test_cooldown_is_per_source_and_cap_is_shared():
    rule = SustainedRule(cfg(cap_per_hour=2))
    got = []
    for t in range(10):
        for src in ("a", "b", "c"):
            got += [(a.kind, a.source, a.t) for a in rule.update(float(t), HIGH, src)]
    # a and b fire at 3 s, each with its own cooldown; c is the third in the hour and is suppressed.
    assert got == [("alert", "a", 3.0), ("alert", "b", 3.0)]
    assert rule.status(4.0, "c").state == RuleState.SUPPRESSED
    assert rule.status(4.0, "a").state == RuleState.ALERTED


@pytest.mark.parametrize(
    "cap, episodes, n_alerts, n_suppressed", [(1, 5, 1, 4), (2, 5, 2, 3), (5, 5, 5, 0), (3, 1, 1, 0)]
)
def test_cap_then_one_digest(cap, episodes, n_alerts, n_suppressed):
    # Episodes of 5 s high every 20 s (cooldown 10 s): each fires at start + 3 s unless capped.
    scores = ([HIGH] * 5 + [LOW] * 15) * episodes + [LOW] * 30
    rule = SustainedRule(cfg(cap_per_hour=cap), cap_window=100.0 * episodes)
    out = []
    for t, s in at_1hz(scores):
        out += rule.update(t, s, "cam")
    out += rule.flush(len(scores))
    alerts = [a for a in out if a.kind == "alert"]
    digests = [a for a in out if a.kind == "digest"]
    assert [a.t for a in alerts] == [3.0 + 20 * i for i in range(n_alerts)]
    if n_suppressed == 0:
        assert digests == []
    else:
        (d,) = digests
        assert len(d.suppressed) == n_suppressed
        assert [s.t for s in d.suppressed] == [3.0 + 20 * i for i in range(n_alerts, episodes)]
        assert d.start == 3.0 and d.t == 3.0 + 100.0 * episodes  # sent when the hour window ends
        assert d.peak == HIGH


def test_digest_goes_out_when_the_window_ends_and_a_new_window_starts():
    rule = SustainedRule(cfg(cap_per_hour=1, cooldown=0.0))
    out = []
    for start in (0.0, 100.0, 200.0, 3700.0):  # the last episode is after the hour window (0 + 3600 + 3)
        for i in range(6):
            out += rule.update(start + i, HIGH, "cam")
        out += rule.update(start + 6, LOW, "cam")
    assert [(a.kind, a.t) for a in out] == [("alert", 3.0), ("digest", 3603.0), ("alert", 3703.0)]
    assert len(out[1].suppressed) == 2


def test_status_words_follow_the_episode():
    rule = SustainedRule(cfg())
    words = {}
    for t, s in at_1hz([LOW, HIGH, HIGH, HIGH, HIGH, LOW, LOW]):
        rule.update(t, s)
        words[t] = rule.status(t)
    assert words[0].state == RuleState.NORMAL and words[0].words() == "normal"
    assert words[2].state == RuleState.ANOMALOUS and words[2].words() == "anomalous for 1s"
    assert words[4].state == RuleState.ALERTED and words[4].words().startswith("alert raised")
    assert words[6].state == RuleState.COOLDOWN and words[6].cooldown_left == pytest.approx(8.0)
    assert rule.status(100.0).state == RuleState.NORMAL


def test_reconfigure_keeps_the_cooldown():
    rule = SustainedRule(cfg())
    assert fire_times(rule, at_1hz([HIGH] * 5)) == [("alert", 3.0)]
    rule.reconfigure(cfg(threshold=0.3, hysteresis=0.0))
    assert fire_times(rule, at_1hz([0.4] * 5, t0=5.0)) == []  # in cooldown until 13 s
    assert fire_times(rule, at_1hz([0.0] + [0.4] * 5, t0=19.0)) == [("alert", 23.0)]


def test_a_cooldown_or_cap_change_leaves_the_open_episode_alone():
    """The Live page applies rule changes to running sources: a new cooldown or cap must not end the episode an
    alert was raised for (its "lasted" would be cut at the change) nor let it fire again."""
    rule = SustainedRule(cfg(cooldown=120.0))
    assert fire_times(rule, at_1hz([HIGH] * 5)) == [("alert", 3.0)]
    rule.reconfigure(cfg(cooldown=30.0, cap_per_hour=5, seconds=2.0))
    assert rule.pop_ended() == [] and rule.status(4.0, "cam").state == RuleState.ALERTED
    assert rule.status(4.0, "cam").anomalous_for == pytest.approx(4.0)  # the same episode, from 0 s
    assert fire_times(rule, at_1hz([HIGH] * 40, t0=5.0)) == []  # one alert per episode
    assert [(e.fired_t, e.t) for e in (rule.end_open(44.0, "cam") or rule.pop_ended())] == [(3.0, 44.0)]


def test_a_threshold_raised_during_an_alerted_episode_keeps_it_while_the_score_stays_in_the_new_band():
    """A user raises the threshold during a fight: the fight's episode goes on (same start, already alerted), so
    it sends no second email when its N seconds pass again; it ends only once the score leaves the new band."""
    rule = SustainedRule(cfg(cooldown=5.0))
    assert fire_times(rule, at_1hz([HIGH] * 5)) == [("alert", 3.0)]
    rule.reconfigure(cfg(cooldown=5.0, threshold=0.85, hysteresis=0.1))  # off line 0.75: 0.9 is still above it
    assert rule.pop_ended() == []
    status = rule.status(4.0, "cam")
    assert (status.state, status.anomalous_for) == (RuleState.ALERTED, pytest.approx(4.0))  # from 0 s, not 4 s
    assert fire_times(rule, at_1hz([HIGH] * 10 + [0.8] * 5, t0=5.0)) == []  # past the cooldown: still one email
    assert rule.status(19.0, "cam").anomalous_for == pytest.approx(19.0)
    assert fire_times(rule, at_1hz([0.7], t0=20.0)) == []  # below 0.75: the episode ends here
    assert [(e.fired_t, e.t) for e in rule.pop_ended()] == [(3.0, 20.0)]
    assert rule.status(20.0, "cam").state == RuleState.NORMAL


def test_a_threshold_raised_above_the_score_ends_the_episode_at_once():
    rule = SustainedRule(cfg(cooldown=5.0))
    assert fire_times(rule, at_1hz([0.7] * 5)) == [("alert", 3.0)]
    rule.reconfigure(cfg(cooldown=5.0, threshold=0.9, hysteresis=0.1))  # off line 0.8: 0.7 is below it
    assert [(e.fired_t, e.t) for e in rule.pop_ended()] == [(3.0, 4.0)]
    assert rule.status(4.0, "cam").state == RuleState.COOLDOWN  # the cooldown of the sent alert holds
    assert fire_times(rule, at_1hz([0.7] * 10 + [0.95] * 5, t0=5.0)) == [("alert", 18.0)]  # a new episode from 15 s


def test_a_lowered_threshold_keeps_an_unalerted_episode_counting_from_its_start():
    rule = SustainedRule(cfg(seconds=4.0))
    assert fire_times(rule, at_1hz([0.6] * 3)) == []  # anomalous since 0 s, not yet 4 s
    rule.reconfigure(cfg(seconds=4.0, threshold=0.3))
    assert fire_times(rule, at_1hz([0.6] * 3, t0=3.0)) == [("alert", 4.0)]  # N counted from 0 s, not from 3 s


def test_a_smoothing_change_restarts_the_episode():
    rule = SustainedRule(cfg(cooldown=5.0))
    assert fire_times(rule, at_1hz([HIGH] * 5)) == [("alert", 3.0)]
    rule.reconfigure(cfg(cooldown=5.0, smooth_seconds=2.0))
    assert [(e.fired_t, e.t) for e in rule.pop_ended()] == [(3.0, 4.0)]
    assert fire_times(rule, at_1hz([HIGH] * 5, t0=5.0)) == [("alert", 8.0)]  # a new episode from 5 s, cooldown over


def test_a_restarted_source_ends_its_episode_and_keeps_its_cooldown_and_the_cap():
    """A new model on a running source: its scores are on another scale, so its episode and smoothing start over;
    the cooldown of the alert it sent and the hourly cap (shared with the other sources) hold."""
    rule = SustainedRule(cfg(cap_per_hour=2, cooldown=10.0, smooth_seconds=2.0))
    assert fire_times(rule, at_1hz([HIGH] * 5), "door") == [("alert", 3.0)]
    assert fire_times(rule, at_1hz([HIGH] * 5), "yard") == [("alert", 3.0)]  # the cap (2) is now reached
    rule.restart("door")
    rule.restart("nowhere")  # a source it never saw: nothing to do
    assert [(e.source, e.fired_t, e.t) for e in rule.pop_ended()] == [("door", 3.0, 4.0)]
    assert rule.status(4.0, "door").smoothed == 0.0  # the new model's average starts from its own scores
    assert rule.status(5.0, "door").state == RuleState.COOLDOWN and rule.status(4.0, "yard").state == RuleState.ALERTED
    got = []
    for t in range(5, 30):
        got += [(a.kind, a.t) for a in rule.update(float(t), HIGH, "door")]
    assert got == []  # cooldown until 13 s, then the capped hour: suppressed, not a second email
    assert rule.status(29.0, "door").state == RuleState.SUPPRESSED


def test_a_new_threshold_keeps_the_smoothed_score():
    rule = SustainedRule(cfg(smooth_seconds=4.0))
    fire_times(rule, at_1hz([0.8] * 4))
    rule.reconfigure(cfg(smooth_seconds=4.0, threshold=0.9))
    fire_times(rule, at_1hz([0.0], t0=4.0))
    assert rule.status(4.0, "cam").smoothed == pytest.approx(0.8 * 3 / 4)  # averaged with the last 3 s, not reset


@pytest.mark.parametrize(
    "scores, expected",
    [([], []), ([LOW] * 50, []), ([LOW] * 10 + [HIGH] * 40, [("alert", 13.0)])],
)
def test_backtest_replays_a_track(scores, expected):
    t = np.arange(len(scores), dtype=float)
    track = ScoreTrack.from_scores(np.arange(len(scores)), t, scores, smooth_seconds=5.0)
    assert [(a.kind, a.t) for a in backtest(track, cfg())] == expected


def test_backtest_includes_the_digest_that_would_follow():
    scores = ([HIGH] * 5 + [LOW] * 15) * 4
    track = ScoreTrack.from_scores(np.arange(len(scores)), np.arange(len(scores), dtype=float), scores)
    out = backtest(track, cfg(cap_per_hour=1))
    assert [a.kind for a in out] == ["alert", "digest"]
    assert len(out[1].suppressed) == 3 and out[1].t == 3.0 + 3600.0


def test_config_from_env(monkeypatch):
    monkeypatch.setenv("VIGIL_ALERT_THRESHOLD", "0.7")
    monkeypatch.setenv("VIGIL_ALERT_SECONDS", "5")
    monkeypatch.setenv("VIGIL_ALERT_COOLDOWN", "30")
    monkeypatch.setenv("VIGIL_ALERT_CAP", "4")
    c = AlertConfig.from_env()
    assert (c.threshold, c.seconds, c.cooldown, c.cap_per_hour) == (0.7, 5.0, 30.0, 4)
    assert AlertConfig.from_env(seconds=1.0).seconds == 1.0  # page controls win over env


@pytest.mark.parametrize(
    "env, overrides, message",
    [
        ({"VIGIL_ALERT_THRESHOLD": "high"}, {}, "VIGIL_ALERT_THRESHOLD"),
        ({"VIGIL_ALERT_THRESHOLD": "1.5"}, {}, "threshold"),
        ({}, {"threshold": 0.05, "hysteresis": 0.1}, "hysteresis"),
        ({}, {"cap_per_hour": 0}, "cap_per_hour"),
        ({}, {"bogus": 1}, "bogus"),
    ],
)
def test_bad_config_is_a_config_error(env, overrides, message):
    with pytest.raises(ConfigError, match=message):
        AlertConfig.from_env(env, **overrides)


@pytest.mark.parametrize(
    "state, anomalous_for, cooldown_left, words",
    [
        (RuleState.ANOMALOUS, 0.0, 0.0, "anomalous"),  # just opened: no "for 0s"
        (RuleState.ANOMALOUS, 0.6, 0.0, "anomalous"),  # would round up to "for 1s" before a second passed
        (RuleState.ANOMALOUS, 2.2, 0.0, "anomalous for 2s"),
        (RuleState.ALERTED, 0.4, 0.0, "alert raised — anomalous"),
        (RuleState.SUPPRESSED, 0.0, 0.0, "anomalous — hourly cap reached, goes into the digest"),
        (RuleState.COOLDOWN, 0.3, 40.0, "cooldown (40s left, anomalous)"),
        (RuleState.COOLDOWN, 5.0, 40.0, "cooldown (40s left, anomalous for 5s)"),
        (RuleState.COOLDOWN, 0.0, 40.0, "cooldown (40s left)"),
    ],
)
def test_status_words_give_a_duration_only_once_it_is_one(state, anomalous_for, cooldown_left, words):
    assert RuleStatus(state, 0.7, anomalous_for, cooldown_left, False).words() == words


def test_no_smoothing_works_at_epoch_times():
    """smooth_seconds=0 (VIGIL_ALERT_SMOOTH=0) on the live clock: a tiny window vanished there (t - 1e-9 == t)."""
    rule = SustainedRule(cfg(smooth_seconds=0.0))
    t0 = 1.76e9
    for i, s in enumerate([0.2, 0.9, 0.9]):
        rule.update(t0 + i, s)
    status = rule.status(t0 + 2)
    assert status.state == RuleState.ANOMALOUS and status.smoothed == pytest.approx(0.9)


def test_alerts_sent_before_the_rule_existed_count_against_the_hourly_cap():
    """Walk 4 #10: a restarted source started a fresh cap window (18 emails in 31 min under 10/hour)."""
    rule = SustainedRule(cfg(cap_per_hour=3, cooldown=0.0))
    rule.seed_cap([100.0, 200.0, 1000.0 - 3600.0 - 1.0], now=1000.0)  # the last: over an hour before, not counted
    rule.seed_cap([900.0], now=1000.0)  # only the first seeding counts
    episode = [(1000.0 + i, HIGH) for i in range(5)] + [(1005.0, LOW)]
    assert fire_times(rule, episode) == [("alert", 1003.0)]  # the third of the hour
    assert fire_times(rule, [(t + 100, s) for t, s in episode]) == []  # the fourth: held for the digest
    assert rule.status(1105.0, "cam").capped
    # the window opened at the first earlier alert (100 s): the digest is stamped at its end, then alerts go out again
    late = [(3710.0 + i, HIGH) for i in range(5)]
    assert fire_times(rule, late) == [("digest", 3700.0), ("alert", 3713.0)]


def test_a_rule_without_earlier_alerts_opens_its_window_at_its_own_first():
    rule = SustainedRule(cfg(cap_per_hour=1, cooldown=0.0))
    rule.seed_cap([], now=0.0)
    assert fire_times(rule, [(float(i), HIGH) for i in range(5)]) == [("alert", 3.0)]
