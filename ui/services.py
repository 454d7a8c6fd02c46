"""Process-wide background services started with the app, whatever page a visitor opens first."""

from __future__ import annotations

from core.mailer import EmailError, SmtpSettings
from core.outbox import Sender
from ui.live_state import secrets_dict


def start_mail_sender() -> None:
    """Keep draining the alert outbox (retries included) even when nobody has the Live page open."""
    try:
        settings = SmtpSettings.try_load(secrets_dict())
    except EmailError:
        settings = None  # misconfigured: the Live page says why; alerts stay queued meanwhile
    Sender.shared().configure(settings)
