"""Sending email with yagmail: SMTP settings, one message, a test message. No queueing here (see outbox).

The settings (``SmtpSettings``: ``[smtp]`` in secrets.toml, ``VIGIL_SMTP_*`` variables) are read
and validated by the settings root, core/settings.py; the README's settings table lists them.

Every error leaving this module is an ``EmailError`` whose text has the password removed.
"""

from __future__ import annotations

import base64
import email
import html
import logging
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import EmailError, EmailNotConfiguredError
from core.settings import SmtpSettings

__all__ = ["EmailError", "EmailNotConfiguredError", "EmailMessage", "SmtpSettings", "send", "send_test", "redact"]

log = logging.getLogger("vigil.mailer")


@dataclass(frozen=True)
class EmailMessage:
    """A plain-text email; ``attachments`` are files (images are sent with their image MIME type)."""

    subject: str
    body: str
    attachments: tuple[Path, ...] = field(default_factory=tuple)


def redact(text: str, settings: SmtpSettings | None) -> str:
    """``text`` with the password (and the base64 forms an AUTH exchange would carry) removed."""
    if settings is None:
        return text
    pw = settings.password.get_secret_value()
    if not pw:
        return text
    secrets = {pw, base64.b64encode(pw.encode()).decode()}
    for user in (settings.user, ""):
        secrets.add(base64.b64encode(f"{user}\0{user}\0{pw}".encode()).decode())
        secrets.add(base64.b64encode(f"\0{user}\0{pw}".encode()).decode())
    for s in sorted(secrets, key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def _describe_error(err: BaseException) -> str:
    if isinstance(err, smtplib.SMTPAuthenticationError):
        return f"login refused by the server ({err.smtp_code} {_text(err.smtp_error)})"
    if isinstance(err, smtplib.SMTPResponseException):
        return f"server answered {err.smtp_code} {_text(err.smtp_error)}"
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return "every recipient was refused: " + ", ".join(err.recipients)
    if isinstance(err, ssl.SSLError):
        return f"TLS failed ({err.reason or err}); check VIGIL_SMTP_SECURITY and the port"
    if isinstance(err, socket.timeout | TimeoutError):
        return "the server did not answer in time"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused (is the host/port right?)"
    if isinstance(err, socket.gaierror):
        return "unknown host name"
    return f"{type(err).__name__}: {err}"


def _text(b: bytes | str) -> str:
    return b.decode(errors="replace") if isinstance(b, bytes) else str(b)


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send ``message`` now (blocking, up to ``settings.timeout`` per operation). Raises EmailError."""
    import yagmail  # heavy-ish import, only needed by the sender thread

    password = settings.password.get_secret_value()
    login = bool(settings.user)
    if login and not password:
        # yagmail would fall back to the keyring or an interactive prompt: never in a server.
        raise EmailError("Email setting 'password' is empty but a user is set (Gmail needs an app password).")
    try:
        client = yagmail.SMTP(
            # A {address: alias} dict: a plain string without "@" would get "@gmail.com" appended.
            user={settings.user if login else settings.from_address: "Vigil"},
            password=password if login else None,
            host=settings.host,
            port=settings.effective_port,
            smtp_ssl=settings.security == "ssl",
            smtp_starttls=settings.security == "starttls",
            smtp_skip_login=not login,
            soft_email_validation=False,
            timeout=settings.timeout,
        )
        client.set_logging(logging.CRITICAL)  # its own logger would print server errors to stderr
        with client:
            # yagmail writes a text body's newlines as <br> into both parts, the plain one too (pagers and
            # text-only clients showed the tags); it builds the message, the plain part is set to the text here
            recipients, raw = client.send(
                to=list(settings.to),
                subject=message.subject,
                contents=[_as_html(message.body)],
                attachments=[str(p) for p in message.attachments] or None,
                prettify_html=False,
                preview_only=True,
            )
            client.smtp.sendmail(client.user, recipients, _with_plain_text(raw, message.body))
    except EmailError:
        raise
    except Exception as err:  # noqa: BLE001 - smtplib/ssl/socket raise many types; all become one user error
        msg = redact(
            f"Could not send email via {settings.host}:{settings.effective_port}: {_describe_error(err)}", settings
        )
        log.warning("%s", msg)
        raise EmailError(msg) from None


def _as_html(body: str) -> str:
    """The text as one preformatted HTML block (the aligned "Why:   fight" columns stay aligned); no newline is
    left for yagmail to turn into <br> a second time."""
    return '<pre style="font: 14px/1.45 monospace">' + html.escape(body).replace("\n", "<br>") + "</pre>"


def _with_plain_text(raw: str, body: str) -> str:
    """The message ``raw`` (RFC 5322) with its text/plain body part (not an attachment) set to ``body``."""
    msg = email.message_from_string(raw)
    for part in msg.walk():
        if part.get_content_type() == "text/plain" and part.get_filename() is None:
            del part["Content-Transfer-Encoding"]
            part.set_payload(body, "utf-8")
            break
    return msg.as_string()


def send_test(settings: SmtpSettings, now_text: str = "") -> None:
    """Send a short test email (what the page's "send test email" button does). Raises EmailError."""
    body = (
        "This is a test email from Vigil.\n\n"
        f"If you can read it, alert emails will reach {', '.join(settings.to)}.\n"
        f"Server: {settings.describe()}\n" + (f"Sent: {now_text}\n" if now_text else "")
    )
    send(settings, EmailMessage("Vigil test email", body))
