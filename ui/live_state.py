"""The Live page's per-session state, behind typed helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from core.alerts import AlertConfig
from core.live import LiveProcessor
from core.outbox import Outbox, Sender
from core.scorers.base import Scorer

_KEY = "live_page"


@dataclass
class LiveSession:
    """What one browser session keeps between reruns: its camera processor and connection timing."""

    processor: LiveProcessor | None = None
    processor_key: tuple | None = None  # (model name, version): a new model means a new processor
    connecting_since: float | None = None  # when WebRTC signalling began without playing yet

    def camera_processor(
        self, key: tuple, scorer: Scorer, model_label: str, cfg: AlertConfig, sender: Sender, owner: str = ""
    ) -> LiveProcessor:
        """The session's camera processor for ``key``, replaced when the model changes; rule settings
        are pushed into a running one (its cooldown and hourly cap survive). ``owner`` goes on its alerts."""
        if self.processor is None or self.processor_key != key:
            if self.processor is not None:
                self.processor.stop()
            self.processor = LiveProcessor(
                scorer,
                model_label,
                cfg,
                source="browser camera",
                outbox=Outbox(),
                on_alert=_waker(sender),
                owner=owner,
            )
            self.processor_key = key
        else:
            self.processor.set_config(cfg)
        return self.processor


def _waker(sender: Sender) -> Callable:
    return lambda rec: sender.wake()


def live_session() -> LiveSession:
    if _KEY not in st.session_state:
        st.session_state[_KEY] = LiveSession()
    return st.session_state[_KEY]


def connection_stalled(session: LiveSession, signalling: bool, playing: bool, after: float = 15.0) -> bool:
    """True when WebRTC has been negotiating for ``after`` s without video (blocked network, no TURN)."""
    if playing or not signalling:
        session.connecting_since = None
        return False
    if session.connecting_since is None:
        session.connecting_since = time.time()
    return time.time() - session.connecting_since > after
