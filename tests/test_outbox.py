"""Outbox + mailer against a real SMTP server (aiosmtpd on 127.0.0.1): retries, content, attachment."""

from __future__ import annotations

import email
import logging
import socket
import time
from email.message import Message

import cv2
import numpy as np
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from core.alerts import Alert, AlertConfig, Suppressed
from core.mailer import EmailError, EmailNotConfiguredError, SmtpSettings, send_test
from core.outbox import Outbox, Sender, email_for, list_alerts

T0 = 1_700_000_000.0  # a fixed epoch time: the outbox is driven by explicit clocks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FlakyHandler:
    """Rejects the first ``fail_first`` messages with a temporary error, then accepts and keeps them."""

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.tries = 0
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.tries += 1
        if self.tries <= self.fail_first:
            return "451 4.3.0 Mailbox busy, try again later"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    """Factory: smtp_server(fail_first=0, password=None) -> (handler, port). Stopped after the test."""
    controllers = []

    def start(fail_first: int = 0, password: str | None = None):
        handler = FlakyHandler(fail_first)
        kw = {}
        if password is not None:

            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = auth_data.login == b"vigil" and auth_data.password == password.encode()
                return AuthResult(success=ok, handled=False)  # aiosmtpd then answers 535 itself

            # PLAIN only: aiosmtpd's LOGIN exchange stalls with smtplib's initial-response form.
            kw = dict(
                authenticator=authenticator,
                auth_require_tls=False,
                auth_required=True,
                auth_exclude_mechanism=["LOGIN"],
            )
        port = free_port()
        c = Controller(handler, hostname="127.0.0.1", port=port, **kw)
        c.start()
        controllers.append(c)
        return handler, port

    yield start
    for c in controllers:
        c.stop()


def settings(port: int, **kw) -> SmtpSettings:
    base = dict(host="127.0.0.1", port=port, security="none", to="ops@example.com, boss@example.com", timeout=5)
    base.update(kw)
    return SmtpSettings(**base)


def frame() -> np.ndarray:
    img = np.zeros((240, 320, 3), np.uint8)
    cv2.rectangle(img, (100, 60), (220, 180), (0, 0, 255), -1)
    return img


def alert(t: float = T0 + 10, start: float = T0 + 6, peak: float = 0.87) -> Alert:
    return Alert("alert", "front door", t, start, peak, start + 1)


def attachments(msg: Message) -> list[tuple[str, bytes]]:
    """Named non-text parts (yagmail attaches images as named image/* parts without a disposition)."""
    return [
        (part.get_content_type(), part.get_payload(decode=True))
        for part in msg.walk()
        if part.get_filename() and part.get_content_maintype() != "multipart"
    ]


def body_text(msg: Message) -> str:
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    return ""


def test_retries_a_failing_server_and_records_the_later_success(smtp_server):
    handler, port = smtp_server(fail_first=2)
    box = Outbox()
    rec = box.record(alert(), "motion v1", frame(), AlertConfig(threshold=0.6, seconds=3), now=T0 + 10)
    assert rec.status == "pending" and rec.snapshot_path.is_file()  # stored before any send
    sender = Sender(box, settings(port), base_backoff=30, max_backoff=100)

    assert sender.send_due(now=T0 + 10) == 0
    first = box.get(rec.id)
    assert (first.status, first.attempts, first.next_attempt_at) == ("failed", 1, T0 + 40)
    assert "451" in first.last_error and "try again later" in first.last_error
    assert "retry in 30 s" in first.email_status(now=T0 + 10)

    assert sender.send_due(now=T0 + 39) == 0  # not due yet: the backoff holds
    assert handler.tries == 1
    assert sender.send_due(now=T0 + 40) == 0  # second failure doubles the backoff
    assert box.get(rec.id).next_attempt_at == T0 + 40 + 60

    assert sender.send_due(now=T0 + 100) == 1
    done = box.get(rec.id)
    assert (done.status, done.attempts, done.sent_at) == ("sent", 3, T0 + 100)
    assert handler.tries == 3 and len(handler.messages) == 1
    assert sender.send_due(now=T0 + 1000) == 0  # never sent twice
    assert len(handler.messages) == 1


def test_email_content_and_image_attachment(smtp_server):
    handler, port = smtp_server()
    box = Outbox()
    rec = box.record(alert(), "motion v1", frame(), AlertConfig(threshold=0.6, seconds=3), now=T0 + 10)
    assert Sender(box, settings(port)).send_due(now=T0 + 10) == 1
    (msg,) = handler.messages
    assert msg["Subject"] == "Vigil alert: front door anomalous for 4 s (peak 0.87)"
    assert msg["From"] == "Vigil <vigil@localhost>"
    assert "ops@example.com" in msg["To"] and "boss@example.com" in msg["To"]
    text = body_text(msg)
    assert "Source:     front door" in text
    assert "How long:   4.0 s" in text and "above 0.60 for 3 s" in text
    assert "Peak score: 0.87" in text and "Model:      motion v1" in text
    when = email_for(rec).body.splitlines()[3]
    assert when.startswith("When:") and when in text
    # the plain part is the text itself (yagmail had put <br> tags in it); the HTML part keeps its columns
    assert text.replace("\r\n", "\n") == email_for(rec).body and "<br>" not in text
    html_part = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert html_part.count("<pre") == 1 and "Source:     front door<br>" in html_part
    ((ctype, data),) = attachments(msg)
    assert ctype == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (240, 320, 3)
    assert img[120, 160, 2] > 200 and img[120, 160, 0] < 60  # the red square: it is our frame


def test_digest_email_lists_what_was_suppressed(smtp_server):
    handler, port = smtp_server()
    box = Outbox()
    held = (Suppressed(T0 + 100, T0 + 97, 0.7, "cam"), Suppressed(T0 + 200, T0 + 197, 0.9, "yard"))
    box.record(Alert("digest", "all", T0 + 3600, T0, 0.9, T0 + 200, held), "motion v1", None, now=T0 + 3600)
    assert Sender(box, settings(port)).send_due(now=T0 + 3600) == 1
    (msg,) = handler.messages
    assert msg["Subject"] == "Vigil digest: 2 alert(s) held back by the hourly cap"
    text = body_text(msg)
    assert text.count("  - ") == 2 and "yard, peak 0.90" in text and "cam, peak 0.70" in text
    assert attachments(msg) == []


def test_background_sender_delivers_after_rejections(smtp_server):
    handler, port = smtp_server(fail_first=1)
    box = Outbox()
    sender = Sender(box, settings(port), base_backoff=0.3, poll=0.1).start()
    try:
        rec = box.record(alert(), "motion v1", frame())
        sender.wake()
        deadline = time.time() + 15
        while time.time() < deadline and box.get(rec.id).status != "sent":
            time.sleep(0.1)
    finally:
        sender.stop()
    got = box.get(rec.id)
    assert (got.status, got.attempts) == ("sent", 2)
    assert len(handler.messages) == 1 and handler.tries == 2


def test_unconfigured_email_keeps_alerts_waiting_until_configured(smtp_server):
    handler, port = smtp_server()
    box = Outbox()
    rec = box.record(alert(), "motion v1", frame(), now=T0)
    sender = Sender(box, None)
    assert sender.send_due(now=T0 + 5) == 0
    assert box.get(rec.id).status == "pending" and box.get(rec.id).attempts == 0
    # A fresh Outbox/Sender (as after a restart) still finds it: the queue is the database.
    assert Sender(Outbox(), settings(port)).send_due(now=T0 + 6) == 1
    assert len(handler.messages) == 1


def test_unreachable_server_stays_failed_and_visible():
    box = Outbox()
    rec = box.record(alert(), "motion v1", frame(), now=T0)
    sender = Sender(box, settings(free_port()), base_backoff=10, max_backoff=15)
    for i, t in enumerate([T0, T0 + 10, T0 + 30, T0 + 45]):
        sender.send_due(now=t)
        assert box.get(rec.id).attempts == i + 1
    got = box.get(rec.id)
    assert got.status == "failed" and "connection refused" in got.last_error
    assert got.next_attempt_at == T0 + 45 + 15  # backoff capped at max_backoff
    assert [r.id for r in list_alerts(status="failed")] == [rec.id]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_password_never_in_errors_or_logs(smtp_server, caplog):
    handler, port = smtp_server(password="right-password-1")
    secret = "hunter2-wrong-password"
    box = Outbox()
    rec = box.record(alert(), "motion v1", frame(), now=T0)
    bad = settings(port, user="vigil", password=secret)
    assert secret not in repr(bad) and secret not in bad.describe()
    with caplog.at_level(logging.DEBUG):
        Sender(box, bad).send_due(now=T0)
        with pytest.raises(EmailError) as err:
            send_test(bad)
    got = box.get(rec.id)
    assert got.status == "failed" and "login refused" in got.last_error
    assert secret not in got.last_error and secret not in str(err.value)
    assert secret not in caplog.text
    # The right password gets through.
    good = Sender(box, settings(port, user="vigil", password="right-password-1"))
    assert good.send_due(now=T0 + 60) == 1
    assert len(handler.messages) == 1


def test_list_alerts_newest_first_with_status():
    box = Outbox()
    a = box.record(alert(t=T0 + 10), "m", frame(), now=T0 + 10)
    b = box.record(alert(t=T0 + 20), "m", None, now=T0 + 20)
    box.mark_failed(b.id, "server answered 451", 30, now=T0 + 20)
    rows = list_alerts()
    assert [r.id for r in rows] == [b.id, a.id]
    assert (rows[0].status, rows[0].attempts, rows[0].snapshot_path) == ("failed", 1, None)
    assert rows[1].thumb_path.is_file() and rows[1].duration == pytest.approx(4.0)
    assert list_alerts(since=T0 + 15) == [rows[0]]
    box.retry_now(b.id, now=T0 + 21)
    assert box.get(b.id).next_attempt_at == T0 + 21


@pytest.mark.parametrize(
    "secrets, env, expected",
    [
        ({"smtp": {"host": "smtp.gmail.com", "user": "me@gmail.com", "password": "app-pw", "to": "a@x.org"}}, {},
         ("smtp.gmail.com", 587, "starttls", ("a@x.org",))),
        ({"host": "mail.local", "security": "ssl", "to": ["a@x.org", "b@x.org"]}, {},
         ("mail.local", 465, "ssl", ("a@x.org", "b@x.org"))),
        ({"smtp": {"host": "smtp.gmail.com", "to": "a@x.org"}},
         {"VIGIL_SMTP_HOST": "127.0.0.1", "VIGIL_SMTP_PORT": "2525", "VIGIL_SMTP_SECURITY": "none"},
         ("127.0.0.1", 2525, "none", ("a@x.org",))),
        (None, {"VIGIL_SMTP_HOST": "h", "VIGIL_ALERT_TO": "z@x.org"}, ("h", 587, "starttls", ("z@x.org",))),
    ],
)  # fmt: skip
def test_settings_from_secrets_and_env(secrets, env, expected):
    s = SmtpSettings.load(secrets, env)
    assert (s.host, s.effective_port, s.security, s.to) == expected


@pytest.mark.parametrize(
    "secrets, env, error, text",
    [
        (None, {}, EmailNotConfiguredError, "VIGIL_SMTP_HOST and VIGIL_ALERT_TO"),
        ({"smtp": {"host": "h"}}, {}, EmailNotConfiguredError, "VIGIL_ALERT_TO"),
        ({"smtp": {"host": "h", "to": "a@x.org", "security": "tls"}}, {}, EmailError, "security"),
        ({"smtp": {"host": "h", "to": "a@x.org", "port": "lots"}}, {}, EmailError, "port"),
    ],
)
def test_bad_settings_are_email_errors(secrets, env, error, text):
    with pytest.raises(error, match=text):
        SmtpSettings.load(secrets, env)


def test_send_test_email(smtp_server):
    handler, port = smtp_server()
    send_test(settings(port), now_text="now")
    (msg,) = handler.messages
    assert msg["Subject"] == "Vigil test email" and "alert emails will reach ops@example.com" in body_text(msg)


def test_alert_times_are_one_sources_alerts_of_one_owner_since_a_time(tmp_path):
    """What a restarted source's hourly cap counts (walk 4 #10): its own alerts, not digests, others' or older ones;
    read from the SQLite file, so a new Outbox (a new page run, a restarted server) sees them."""
    from core.db import Database

    db = Database(tmp_path / "alerts.sqlite")
    outbox = Outbox(db)
    for source, owner, t in (
        ("door", "a@x", T0),
        ("door", "a@x", T0 + 60),
        ("door", "b@x", T0 + 70),
        ("yard", "a@x", T0 + 80),
        ("door", "a@x", T0 - 4000),
    ):
        outbox.record(Alert("alert", source, t, t - 3, 0.9, t - 1), "motion", owner=owner)
    outbox.record(Alert("digest", "all", T0 + 90, T0, 0.9, T0), "motion", owner="a@x")
    outbox.record(Alert("digest", "door", T0 + 95, T0, 0.9, T0), "motion", owner="a@x")
    again = Outbox(Database(tmp_path / "alerts.sqlite"))
    assert again.alert_times("door", "a@x", since=T0 - 3600) == [T0, T0 + 60]
    assert again.alert_times("door", "b@x", since=T0 - 3600) == [T0 + 70]
    assert again.alert_times("door", "a@x", since=T0 + 1) == [T0 + 60]
