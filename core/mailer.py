"""Sending email with yagmail: SMTP settings, one message, a test message. No queueing here (see outbox).

Settings come from a mapping (the page passes ``st.secrets``; keys under an ``[smtp]`` section or at
top level) and from environment variables, which win field by field so that a deployment (or a
test) can override a secrets file:

===================  ==========  =========================================================
variable             secrets     meaning
===================  ==========  =========================================================
VIGIL_SMTP_HOST      host        SMTP server, e.g. smtp.gmail.com (required)
VIGIL_SMTP_PORT      port        default 465 for ssl, 587 for starttls, 25 for none
VIGIL_SMTP_USER      user        login; empty = no login (a local relay)
VIGIL_SMTP_PASSWORD  password    for Gmail an *app password* (never logged or shown)
VIGIL_SMTP_SECURITY  security    ssl | starttls | none (default starttls)
VIGIL_SMTP_FROM      sender      From address without login (default vigil@localhost)
VIGIL_ALERT_TO       to          recipients, comma-separated (required)
===================  ==========  =========================================================

Every error leaving this module is an ``EmailError`` whose text has the password removed.
"""

from __future__ import annotations

import base64
import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from core.errors import VigilError

log = logging.getLogger("vigil.mailer")

ENV = {
    "host": "VIGIL_SMTP_HOST",
    "port": "VIGIL_SMTP_PORT",
    "user": "VIGIL_SMTP_USER",
    "password": "VIGIL_SMTP_PASSWORD",
    "security": "VIGIL_SMTP_SECURITY",
    "sender": "VIGIL_SMTP_FROM",
    "to": "VIGIL_ALERT_TO",
}
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


class EmailError(VigilError):
    """An email could not be sent (server unreachable, login refused, message rejected)."""


class EmailNotConfiguredError(EmailError):
    """No SMTP server or recipient is configured."""


class SmtpSettings(BaseModel):
    """Where and how to send. ``password`` is a SecretStr: its repr and str are masked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, description="SMTP server host name.")
    port: int = Field(0, ge=0, le=65535, description="SMTP port; 0 = the usual one for `security`.")
    user: str = Field("", description="Login user; empty means no login.")
    password: SecretStr = Field(SecretStr(""), description="Login password (Gmail: an app password).")
    security: Literal["ssl", "starttls", "none"] = Field("starttls", description="Transport security.")
    sender: str = Field("", description="From address when no login is used (with a login it is the user).")
    to: tuple[str, ...] = Field(min_length=1, description="Recipients.")
    timeout: float = Field(20.0, gt=0, le=300, description="Network timeout per SMTP operation (s).")

    @field_validator("to", mode="before")
    @classmethod
    def _split(cls, v):
        if isinstance(v, str):
            v = v.split(",")
        return tuple(a.strip() for a in v if a and a.strip())

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def from_address(self) -> str:
        return self.user if self.user else (self.sender or "vigil@localhost")

    def describe(self) -> str:
        """One line for the UI, without the password."""
        who = f" as {self.user}" if self.user else ""
        return f"{self.host}:{self.effective_port} ({self.security}){who} → {', '.join(self.to)}"

    @classmethod
    def load(cls, secrets: Mapping | None = None, env: Mapping[str, str] | None = None) -> SmtpSettings:
        """Settings from ``secrets`` (``[smtp]`` section or flat) overridden by ``VIGIL_SMTP_*`` env.

        Raises EmailNotConfiguredError when no host or recipient is set, EmailError when a value is
        invalid (the message never contains the password).
        """
        env = os.environ if env is None else env
        section: Mapping = {}
        if secrets:
            inner = secrets.get("smtp") if hasattr(secrets, "get") else None
            section = inner if isinstance(inner, Mapping) else secrets
        values: dict[str, object] = {k: section[k] for k in ENV if k in section and section[k] not in (None, "")}
        if "timeout" in section:
            values["timeout"] = section["timeout"]
        for key, var in ENV.items():
            if env.get(var, "").strip():
                values[key] = env[var].strip()
        missing = [ENV[k] for k in ("host", "to") if not values.get(k)]
        if missing:
            raise EmailNotConfiguredError(
                "Email is not configured: set " + " and ".join(missing) + " (or [smtp] host/to in secrets.toml)."
            )
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            # pydantic echoes the input value in some messages; drop it so a password cannot leak.
            raise EmailError(f"Email setting '{where}' is invalid: {first['msg']}.") from None

    @classmethod
    def try_load(cls, secrets: Mapping | None = None, env: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """``load`` that returns None when email is not configured (other errors still raise)."""
        try:
            return cls.load(secrets, env)
        except EmailNotConfiguredError:
            return None


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
            result = client.send(
                to=list(settings.to),
                subject=message.subject,
                contents=[message.body],
                attachments=[str(p) for p in message.attachments] or None,
                prettify_html=False,
            )
        if result is False:  # yagmail swallows repeated disconnects and returns False
            raise EmailError(f"Could not send email via {settings.host}: the server kept disconnecting.")
    except EmailError:
        raise
    except Exception as err:  # noqa: BLE001 - smtplib/ssl/socket raise many types; all become one user error
        msg = redact(
            f"Could not send email via {settings.host}:{settings.effective_port}: {_describe_error(err)}", settings
        )
        log.warning("%s", msg)
        raise EmailError(msg) from None


def send_test(settings: SmtpSettings, now_text: str = "") -> None:
    """Send a short test email (what the page's "send test email" button does). Raises EmailError."""
    body = (
        "This is a test email from Vigil.\n\n"
        f"If you can read it, alert emails will reach {', '.join(settings.to)}.\n"
        f"Server: {settings.describe()}\n" + (f"Sent: {now_text}\n" if now_text else "")
    )
    send(settings, EmailMessage("Vigil test email", body))
