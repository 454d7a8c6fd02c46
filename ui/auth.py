"""The door of the app: refuse to serve a network without login, sign in with ``st.login``, who is acting.

``gate()`` runs in app.py before the router, so no page (deep links included) renders for someone who
is not signed in and allowed. Pages ask ``identity()`` who is acting; core checks owner-or-admin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import NoReturn

import streamlit as st

from core.access import AccessDeniedError, Identity, identify, serving_problem
from core.errors import ConfigError
from ui.services import app_settings

log = logging.getLogger("vigil.auth")
_KEY = "auth.identity"


def auth_configured() -> bool:
    """True when the secrets Streamlit loaded have an ``[auth]`` section (what ``st.login`` reads)."""
    try:
        return bool(st.secrets.get("auth"))
    except Exception:  # noqa: BLE001 - no or unparsable secrets.toml: Streamlit raises different types
        return False


def identity() -> Identity:
    """Who is acting in this session (set by ``gate``; the local user when login is off).

    Fails closed: with login on, a run that skipped the gate acts as nobody (owns nothing, admin of nothing).
    """
    found = st.session_state.get(_KEY)
    if isinstance(found, Identity):
        return found
    return Identity("", "nobody") if auth_configured() else Identity.local()


def recorded_name(typed: str) -> str:
    """The name recorded with a label: the signed-in address, else what the person typed."""
    return identity().email or typed


def _only(render: Callable[[], None], url_paths: Sequence[str]) -> NoReturn:
    """Show ``render`` at every page's address and end the run: no page is reachable, a deep link shows
    the same door (not "page not found"), and the sidebar lists nothing."""
    doors = [st.Page(render, title="Vigil", default=True)]
    doors += [st.Page(render, title="Vigil", url_path=p) for p in url_paths if p]
    st.navigation(doors, position="hidden").run()
    st.stop()
    raise AssertionError("st.stop() returned")  # unreachable: st.stop raises


def _refusal(message: str) -> Callable[[], None]:
    def refused() -> None:
        st.title("Vigil")
        st.error(message)

    return refused


def _sign_in() -> None:
    st.title("Vigil")
    st.write("Sign in to use Vigil: video anomaly analytics for this site's cameras and recordings.")
    if st.button("Sign in", type="primary", key="auth.login"):
        st.login()


def _not_allowed(message: str) -> Callable[[], None]:
    def not_allowed() -> None:
        st.title("Vigil")
        st.error(message)
        if st.button("Sign out", key="auth.logout-refused"):
            st.logout()

    return not_allowed


def gate(url_paths: Sequence[str] = ()) -> Identity:
    """End the run unless this session may use the app; returns (and remembers) who is acting.

    ``url_paths``: the app's page addresses, so a deep link to one shows the sign-in page in its place.
    """
    try:
        conf, invalid = app_settings(), None
    except ConfigError as err:  # without login the pages say it themselves; with login, fail closed
        conf, invalid = None, str(err)
    configured = auth_configured()
    problem = serving_problem(st.get_option("server.address"), configured, bool(conf and conf.allow_no_login))
    if problem:
        log.error(problem)
        _only(_refusal(problem), url_paths)
    if not configured:
        st.session_state[_KEY] = who = Identity.local()
        return who
    if conf is None:
        _only(_refusal(invalid or "Invalid settings."), url_paths)
    if not st.user.is_logged_in:
        st.session_state.pop(_KEY, None)
        _only(_sign_in, url_paths)
    try:
        who = identify(conf.access, st.user.to_dict())
    except AccessDeniedError as err:
        st.session_state.pop(_KEY, None)
        _only(_not_allowed(str(err)), url_paths)
    st.session_state[_KEY] = who
    with st.sidebar:
        st.caption(f"Signed in as **{who.display}**" + (" · admin" if who.admin else ""))
        if st.button("Sign out", key="auth.logout"):
            st.logout()
    return who
