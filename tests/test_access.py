"""Access policy: allow-list matching, owner-or-admin, refusing a network without login, the limits, and
the owner columns (recorded, checked on delete/stop, migrated onto an existing database)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import moving_square_frames, write_video
from streamlit.testing.v1 import AppTest

from core.access import (
    AccessDeniedError,
    Identity,
    LimitError,
    PermissionDeniedError,
    RateLimiter,
    allows,
    check_source_quota,
    identify,
    is_local_address,
    serving_problem,
)
from core.alerts import Alert
from core.db import _SCHEMAS, Database
from core.engine import analyze
from core.errors import ConfigError, NotFoundError
from core.live import LiveProcessor, ServerSource
from core.outbox import Outbox, list_alerts
from core.scorers.base import Evidence, Scorer, ScoringStream
from core.settings import AccessSettings, load_settings
from core.store import Store

REPO = Path(__file__).resolve().parent.parent
ALICE, BOB, ADMIN = "alice@example.org", "bob@example.org", "root@example.org"


# --- allow-list --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("allow", "email", "ok"),
    [
        ((), ALICE, False),  # empty list: nobody (a provider such as Google signs in the world)
        ((ALICE,), ALICE, True),
        ((ALICE,), "ALICE@Example.ORG", True),  # addresses compare case-insensitively
        ((ALICE,), BOB, False),
        (("@example.org",), BOB, True),
        (("example.org",), BOB, True),
        (("@example.org",), "eve@evil-example.org", False),  # a look-alike domain
        (("@example.org",), "eve@example.org.evil.net", False),
        (("@example.org",), "eve@sub.example.org", False),  # exact domain only
        (("*",), "anyone@anywhere.net", True),
        (("*",), "not-an-address", False),
        ((ALICE,), "", False),
    ],
)
def test_allow_list_matching(allow, email, ok):
    assert allows(AccessSettings(allow=allow), email) is ok


def test_admins_are_always_allowed_and_marked():
    s = AccessSettings(allow=(ALICE,), admins=(ADMIN,))
    assert allows(s, ADMIN) and not allows(s, BOB)
    assert identify(s, {"email": ADMIN, "name": "Root"}) == Identity(ADMIN, "Root", admin=True)
    assert identify(s, {"email": "Alice@Example.org"}) == Identity(ALICE, "", admin=False)


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"email": BOB}, "not allowed"),
        ({"name": "no address"}, "email"),
        ({"email": ALICE, "email_verified": False}, "not verified"),
        ({"email": ALICE, "email_verified": "false"}, "not verified"),
    ],
)
def test_identify_refuses_with_a_reason(claims, words):
    with pytest.raises(AccessDeniedError, match=words):
        identify(AccessSettings(allow=(ALICE,)), claims)


def test_an_empty_allow_list_says_what_to_set():
    with pytest.raises(AccessDeniedError, match="VIGIL_AUTH_ALLOW"):
        identify(AccessSettings(), {"email": ALICE})


def test_settings_env_wins_over_secrets_and_bad_values_name_the_variable():
    secrets = {"access": {"allow": ["@example.org"], "admins": [ADMIN], "max_sources": 3}}
    env = {"VIGIL_AUTH_ALLOW": f"{ALICE}, {BOB}", "VIGIL_LIVE_MAX_SOURCES": "6", "VIGIL_ALLOW_NO_LOGIN": "1"}
    conf = load_settings(secrets, env)
    s = conf.access
    assert s.allow == (ALICE, BOB) and s.admins == (ADMIN,) and s.max_sources == 6 and conf.allow_no_login
    assert load_settings({}, {}).access == AccessSettings() and not load_settings({}, {}).allow_no_login
    with pytest.raises(ConfigError, match="VIGIL_LIVE_MAX_SOURCES_PER_USER"):
        load_settings({}, {"VIGIL_LIVE_MAX_SOURCES_PER_USER": "0"})


# --- owner or admin ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "owner", "ok"),
    [
        (Identity(ALICE), ALICE, True),
        (Identity(ALICE), "Alice@example.org", True),
        (Identity(BOB), ALICE, False),
        (Identity(ADMIN, admin=True), ALICE, True),
        (Identity(ALICE), "", False),  # made before login was on: admins only
        (Identity(ALICE), None, False),
        (Identity(""), "", False),  # an identity without an address owns nothing
        (Identity.local(), ALICE, True),  # without login the one local user manages everything
    ],
)
def test_owner_or_admin(who, owner, ok):
    assert who.may_manage(owner) is ok
    if not ok:
        with pytest.raises(PermissionDeniedError, match="owner"):
            who.require_manage(owner, "delete this")


# --- serving beyond localhost ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("::1", True),
        ("[::1]", True),
        ("unix:///run/vigil.sock", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),  # unset: Streamlit listens on every interface
        ("192.168.1.20", False),
        ("vigil.example.org", False),
    ],
)
def test_local_addresses(address, local):
    assert is_local_address(address) is local


def test_serving_a_network_needs_login_or_the_override():
    line = serving_problem("0.0.0.0", auth_configured=False)
    assert line and "\n" not in line and "[auth]" in line and "VIGIL_ALLOW_NO_LOGIN=1" in line
    assert serving_problem(None, auth_configured=False) is not None
    assert serving_problem("0.0.0.0", auth_configured=True) is None
    assert serving_problem("0.0.0.0", auth_configured=False, allow_no_login=True) is None
    assert serving_problem("localhost", auth_configured=False) is None


def _preflight(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(REPO / ".no-home"), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "ui.serving", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_run_script_preflight_refuses_a_network_without_login():
    refused = _preflight("--server.address", "0.0.0.0")
    assert refused.returncode == 2, refused
    assert refused.stdout == "" and len(refused.stderr.strip().splitlines()) == 1
    assert refused.stderr.startswith("error: Refusing to serve Vigil on 0.0.0.0 without login")
    assert _preflight("--server.address=0.0.0.0").returncode == 2
    assert _preflight(env_extra={"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}).returncode == 2
    assert _preflight("--server.address", "0.0.0.0", env_extra={"VIGIL_ALLOW_NO_LOGIN": "1"}).returncode == 0
    ok = _preflight()  # the repository's config.toml: localhost
    assert ok.returncode == 0 and ok.stderr == "", ok


def test_run_script_preflight_lets_a_network_with_login_start(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[auth]\n" + "".join(f'{k} = "{v}"\n' for k, v in AUTH.items()))
    started = _preflight("--server.address", "0.0.0.0", "--secrets.files", str(secrets))
    assert started.returncode == 0 and started.stderr == "", started


def test_repo_config_listens_on_localhost_and_names_the_browser_address():
    import tomllib

    cfg = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "localhost"
    assert cfg["browser"]["serverAddress"] == "localhost"  # set manually: no external-IP lookup at start
    assert cfg["browser"]["gatherUsageStats"] is False


# --- limits ------------------------------------------------------------------------------------------
def test_rate_limiter_sliding_window_per_key():
    now = [1000.0]
    rl = RateLimiter(3, 3600.0, clock=lambda: now[0])
    for _ in range(3):
        rl.acquire(ALICE)
    with pytest.raises(LimitError, match="3 test emails per 60 minutes"):
        rl.acquire(ALICE, "test emails")
    rl.acquire(BOB)  # another user has their own budget
    now[0] += 3599.0
    with pytest.raises(LimitError):
        rl.acquire(ALICE)
    now[0] += 2.0  # the first one has left the window
    rl.acquire(ALICE)


def test_source_quota():
    s = AccessSettings(max_sources=3, max_sources_per_user=2)
    check_source_quota([ALICE], ALICE, s)
    with pytest.raises(LimitError, match="at most|most one user"):
        check_source_quota([ALICE, ALICE], ALICE, s)
    check_source_quota([ALICE, ALICE], BOB, s)
    with pytest.raises(LimitError, match="already running"):
        check_source_quota([ALICE, ALICE, BOB], BOB, s)


class _Still(ScoringStream):
    def __init__(self):
        super().__init__(live=True)

    def update(self, t, frame):
        return 0.0

    def finish(self):
        return np.zeros(0)

    def evidence(self, index):
        return Evidence.empty()


class _StillScorer(Scorer):
    def stream(self, live=False):
        return _Still()


@pytest.fixture
def looping_clip(vigil_env) -> Path:
    vigil_env.mkdir(parents=True, exist_ok=True)  # Live files must lie inside the allowed roots (data dir)
    return write_video(vigil_env / "loop.avi", moving_square_frames(n=20), fps=10)


def _source(path: Path, owner: str) -> ServerSource:
    return ServerSource(str(path), LiveProcessor(_StillScorer(), "m", owner=owner), loop=True, owner=owner)


def test_server_sources_limits_visibility_and_stop_rights(looping_clip):
    quota = AccessSettings(max_sources=3, max_sources_per_user=2)
    alice = [_source(looping_clip, ALICE).start(quota) for _ in range(2)]
    try:
        with pytest.raises(LimitError, match="most one user"):
            _source(looping_clip, ALICE).start(quota)
        bob = _source(looping_clip, BOB).start(quota)
        with pytest.raises(LimitError, match="already running"):
            _source(looping_clip, "carol@example.org").start(quota)
        assert len(ServerSource.active()) == 3  # refused ones never started

        assert ServerSource.visible_to(Identity(BOB)) == [bob]
        assert ServerSource.visible_to(Identity(ALICE)) == alice
        assert len(ServerSource.visible_to(Identity(ADMIN, admin=True))) == 3

        with pytest.raises(PermissionDeniedError):
            alice[0].stop_by(Identity(BOB))
        assert alice[0].running and alice[0] in ServerSource.active()
        alice[0].stop_by(Identity(ALICE))
        bob.stop_by(Identity(ADMIN, admin=True))
        assert ServerSource.active() == [alice[1]]
    finally:
        for s in ServerSource.active():
            s.stop()


# --- owners in the store -----------------------------------------------------------------------------
def test_analysis_owner_is_recorded_and_only_owner_or_admin_deletes(make_video):
    store = Store()
    rec = analyze(make_video("yard.avi", n=30), store=store, owner=ALICE)
    assert store.load(rec.id).owner == ALICE and store.list()[0]["owner"] == ALICE
    with pytest.raises(PermissionDeniedError):
        store.delete_by(rec.id, Identity(BOB))
    assert store.load(rec.id).files_dir.is_dir()  # nothing removed
    store.delete_by(rec.id, Identity(ADMIN, admin=True))
    assert store.list() == [] and not (store.analyses_dir / rec.id).exists()
    with pytest.raises(NotFoundError):
        store.delete_by(rec.id, Identity(ALICE))


def test_an_existing_database_gets_owner_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old" / "vigil.sqlite"
    path.parent.mkdir()
    con = sqlite3.connect(path)
    # The registered CREATE scripts are the tables as first shipped (owner arrives as an added column).
    con.executescript(_SCHEMAS["analyses"] + _SCHEMAS["alerts"])
    assert "owner" not in {r[1] for r in con.execute("PRAGMA table_info(analyses)")}
    con.execute(
        "INSERT INTO analyses VALUES ('old-1', '2026-01-01T00:00:00+00:00', 'door.mp4', '/v/door.mp4', '/v/door.mp4',"
        " 'abc', 'motion', '1', 'k', '{}', '{}', '{}', 12.0, 0.7, 3.0, 1, 0.1, '[]')"
    )
    con.commit()
    con.close()

    store = Store(Database(path))
    rows = store.list()
    assert [(r["id"], r["owner"]) for r in rows] == [("old-1", "")]
    cols = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(alerts)")}
    assert "owner" in cols
    with pytest.raises(PermissionDeniedError):  # made before login: only an admin may delete it now
        store.delete_by("old-1", Identity(ALICE))
    Store(Database(path)).delete_by("old-1", Identity(ADMIN, admin=True))  # a second open migrates nothing twice
    assert store.list() == []


def test_alerts_record_their_owner_and_filter_by_it():
    outbox = Outbox()
    t = time.time()
    for owner in (ALICE, BOB):
        outbox.record(Alert("alert", "cam", t, t - 3, 0.9, t - 1), "motion", owner=owner)
    assert [a.owner for a in list_alerts(owner=ALICE)] == [ALICE]
    assert {a.owner for a in list_alerts()} == {ALICE, BOB}


# --- the gate, through the app (AppTest) ------------------------------------------------------------
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-test-cookie-secret",
    "client_id": "vigil",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def _app(auth: bool = True, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page("app_pages/history.py")
    if auth:
        at.secrets["auth"] = AUTH
        at.secrets["access"] = {"allow": [ALICE], "admins": [ADMIN]}
    if user is not None:
        at.user = user
    return at.run()


def _texts(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.error, *at.markdown, *at.caption, *at.title])


def test_gate_signed_out_sees_only_the_sign_in_page():
    at = _app(user={"is_logged_in": False})
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert "History" not in _texts(at)


def test_gate_refuses_a_user_not_on_the_allow_list():
    at = _app(user={"is_logged_in": True, "email": BOB})
    assert not at.exception
    assert "bob@example.org is not allowed" in _texts(at) and "History" not in _texts(at)
    assert [b.label for b in at.button] == ["Sign out"]


def test_gate_lets_an_allowed_user_in_and_names_them():
    at = _app(user={"is_logged_in": True, "email": ALICE, "name": "Alice"})
    assert not at.exception
    assert at.title[0].value == "History"
    assert any("alice@example.org" in str(c.value) for c in at.sidebar.caption)


def test_gate_with_login_and_an_invalid_setting_fails_closed(monkeypatch):
    monkeypatch.setenv("VIGIL_LIVE_MAX_SOURCES", "0")
    at = _app(user={"is_logged_in": True, "email": ALICE})
    assert not at.exception
    assert "VIGIL_LIVE_MAX_SOURCES" in _texts(at) and "History" not in _texts(at)


def test_gate_refuses_to_serve_a_network_without_auth():
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = _app(auth=False)
    finally:
        config.set_option("server.address", before)
    assert not at.exception
    assert "Refusing to serve Vigil on 0.0.0.0 without login" in _texts(at) and "History" not in _texts(at)


def test_live_page_limits_test_emails_per_user(monkeypatch):
    from aiosmtpd.controller import Controller
    from browser import free_port

    class Inbox:
        def __init__(self):
            self.count = 0

        async def handle_DATA(self, server, session, envelope):
            self.count += 1
            return "250 OK"

    inbox, port = Inbox(), free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        for var, value in {
            "VIGIL_SMTP_HOST": "127.0.0.1",
            "VIGIL_SMTP_PORT": str(port),
            "VIGIL_SMTP_SECURITY": "none",
            "VIGIL_ALERT_TO": "guard@example.com",
            "VIGIL_TEST_EMAILS_PER_HOUR": "2",  # a budget of its own: the limiter is process-wide, per budget
        }.items():
            monkeypatch.setenv(var, value)
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        at.switch_page("app_pages/live.py")
        at.run()
        for _ in range(3):  # a rerun cannot reset the count
            at.button(key="live-test-email").click().run()
        assert not at.exception
        assert inbox.count == 2
        assert [e.value for e in at.error if "Limit reached" in str(e.value)], [e.value for e in at.error]
        fresh = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)  # nor can a new session
        fresh.switch_page("app_pages/live.py")
        fresh.run()
        fresh.button(key="live-test-email").click().run()
        assert inbox.count == 2 and any("Limit reached" in str(e.value) for e in fresh.error)
    finally:
        ctl.stop()


def test_history_alert_log_shows_a_user_their_own_alerts_and_an_admin_everyones():
    outbox, t = Outbox(), time.time()
    for owner, source in ((ALICE, "door"), (BOB, "yard")):
        outbox.record(Alert("alert", source, t, t - 3, 0.9, t - 1), "motion", owner=owner)

    def alert_table(user: str) -> list[tuple[str, str]]:
        at = _app(user={"is_logged_in": True, "email": user})
        assert not at.exception
        df = next(d.value for d in at.dataframe if "owner" in d.value.columns and "email" in d.value.columns)
        return sorted(zip(df["source"], df["owner"], strict=True))

    assert alert_table(ALICE) == [("door", ALICE)]
    assert alert_table(ADMIN) == [("door", ALICE), ("yard", BOB)]
