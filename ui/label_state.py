"""The Label page's per-session state, behind one typed object instead of loose ``st.session_state`` keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from core.labels import QueueItem, TrainingJob

_KEY = "label_page"


@dataclass
class LabelSession:
    """What one browser session remembers between reruns.

    queue: the ordered video paths as last built; it is kept fixed while the person labels, so that
    'next' means the next video on screen, and rebuilt when its inputs change (``queue_key``).
    """

    queue: list[str] = field(default_factory=list)
    queue_key: tuple | None = None
    index: int = 0
    folder: str = ""  # the last folder named: the base for CSV import/export
    job: TrainingJob | None = None
    job_seen: bool = False  # the finished job has triggered its one full rerun
    pending_model: str | None = None  # a newly trained model to select for suggestions on the next run
    messages: list[tuple[str, str, str]] = field(default_factory=list)  # (area, kind, text) shown once

    @property
    def current(self) -> Path | None:
        return Path(self.queue[self.index]) if self.queue else None

    def rebuild(self, items: list[QueueItem], key: tuple) -> None:
        """Take a new order; stay on the same video when it is still queued."""
        here = self.current
        self.queue = [str(i.path) for i in items]
        self.queue_key = key
        self.index = self.queue.index(str(here)) if here and str(here) in self.queue else 0

    def move(self, step: int) -> None:
        if self.queue:
            self.index = max(0, min(len(self.queue) - 1, self.index + step))

    def go_to(self, path: Path) -> None:
        if str(path) in self.queue:
            self.index = self.queue.index(str(path))

    def flash(self, kind: str, text: str, area: str = "label") -> None:
        """Queue a message for the next render of ``area`` (callbacks run before the page draws).
        kind: 'success', 'info', 'warning' or 'error'."""
        self.messages.append((area, kind, text))

    def pop_messages(self, area: str) -> list[tuple[str, str]]:
        out = [(k, t) for a, k, t in self.messages if a == area]
        self.messages = [m for m in self.messages if m[0] != area]
        return out


def session() -> LabelSession:
    if _KEY not in st.session_state:
        st.session_state[_KEY] = LabelSession()
    return st.session_state[_KEY]
