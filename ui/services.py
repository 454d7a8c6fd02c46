"""Process-wide services started with the app, whatever page a visitor opens first, and the settings."""

from __future__ import annotations

import streamlit as st

from core.errors import VigilError
from core.outbox import Sender
from core.settings import Settings, settings


def _secrets() -> dict:
    """``st.secrets`` as a plain dict; empty when there is no secrets.toml (not an error)."""
    try:
        return st.secrets.to_dict()
    except Exception:  # noqa: BLE001 - Streamlit raises different types for missing/unparsable files
        return {}


def app_settings() -> Settings:
    """The settings root over the secrets Streamlit loaded (environment variables win). Raises ConfigError."""
    return settings(_secrets())


def start_mail_sender() -> None:
    """Keep draining the alert outbox (retries included) even when nobody has the Live page open."""
    try:
        smtp = app_settings().smtp.ready()
    except VigilError:
        smtp = None  # not configured or invalid: the Live page says why; alerts stay queued meanwhile
    Sender.shared().configure(smtp)
