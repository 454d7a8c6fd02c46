"""The one module that caches models and stores for Streamlit (``st.cache_resource``).

Cached objects are shared by every session: scorers keep no per-video state (that lives in the
streams they hand out) and the store opens a short connection per call, so sharing is safe.
"""

from __future__ import annotations

import threading

import streamlit as st

from core.access import RateLimiter
from core.db import Database
from core.errors import VigilError
from core.registry import ModelStatus, list_models, load_scorer
from core.scorers.base import Scorer
from core.store import Store
from ui.jobs import JobRegistry


@st.cache_resource(show_spinner="Loading model…")
def _scorer(name: str, version: str) -> Scorer:
    return load_scorer(name)


def get_scorer(name: str) -> Scorer:
    """The cached scorer for ``name`` (re-loaded when a new version is registered under that name)."""
    from core.registry import get_spec

    return _scorer(name, get_spec(name).version)


@st.cache_resource(show_spinner=False)
def warm_object_namer() -> threading.Thread:
    """Load the detector that names segment objects (``core.families.objects.naming``) in the background, once
    per server: loading ultralytics and torch takes ~9 s on 2 cores, which the first analysis with a segment
    otherwise spends at its very end. Nothing happens without the detector's weights."""
    from core.families.objects.naming import object_namer

    thread = threading.Thread(target=object_namer, name="vigil-namer-warmup", daemon=True)
    thread.start()
    return thread


@st.cache_resource
def _store(db_path: str) -> Store:
    store = Store(Database(db_path))
    store.sweep()  # clear folders left by an analysis that was killed mid-save
    return store


def get_store() -> Store:
    """The store of the current data folder (``$VIGIL_DATA_DIR``)."""
    return _store(str(Database().path))


def model_statuses() -> list[ModelStatus]:
    """Every registered model with whether it can run here (cheap: no weights are loaded)."""
    try:
        return list_models()
    except VigilError as err:  # a broken manifest must not take the page down
        st.error(str(err))
        return []


@st.cache_resource
def job_registry() -> JobRegistry:
    """The analyses running on this server (one registry per process): they outlive page runs and sessions."""
    return JobRegistry()


@st.cache_resource
def _test_email_limiter(per_hour: int) -> RateLimiter:
    return RateLimiter(per_hour, 3600.0)


def test_email_limiter(per_hour: int) -> RateLimiter:
    """The process-wide limiter of test emails (one sliding hour per user), so reruns cannot reset it."""
    return _test_email_limiter(per_hour)
