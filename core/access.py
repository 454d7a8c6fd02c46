"""Who may use the app and what they may touch: the access policy, without Streamlit.

Login itself is Streamlit's ``st.login`` (OpenID Connect, configured under ``[auth]`` in secrets.toml);
this module decides what a signed-in identity may do:

- **allow-list**: which signed-in addresses may use the app at all (``alice@example.org``, a whole
  domain ``@example.org``, or ``*`` for anyone the provider signs in). Admins are always allowed.
  An empty list allows nobody: a provider such as Google signs in the whole world.
- **owner or admin**: analyses, labels, alerts and live sources record their owner's address; only the
  owner or an admin deletes or stops them.
- **serving**: without ``[auth]`` the app only listens on this machine (loopback); anything wider is
  refused unless ``VIGIL_ALLOW_NO_LOGIN=1`` says the operator knows.
- **limits**: running server-side live sources per user and in all, and test emails per user per hour.

Settings: ``settings().access`` (``[access]`` in secrets.toml, ``VIGIL_AUTH_ALLOW``, ``VIGIL_AUTH_ADMINS``,
``VIGIL_LIVE_MAX_SOURCES``, ``VIGIL_LIVE_MAX_SOURCES_PER_USER``, ``VIGIL_TEST_EMAILS_PER_HOUR``) and
``settings().allow_no_login`` (``VIGIL_ALLOW_NO_LOGIN``); see core/settings.py.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import VigilError
from core.settings import AccessSettings

OVERRIDE_ENV = "VIGIL_ALLOW_NO_LOGIN"
LOCAL_HOSTS = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class AccessDeniedError(VigilError):
    """A signed-in user is not on the allow-list (or the provider did not vouch for their address)."""


class PermissionDeniedError(VigilError):
    """Someone tried to delete or stop a thing that belongs to another user."""


class LimitError(VigilError):
    """A limit (running sources, test emails) is reached; the message says which and when it frees up."""


# --- identities --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Identity:
    """Who is acting. ``email`` lower-case ("" = the single local user when login is off).

    ``admin``: may delete/stop anyone's things. Without login the local user is admin of everything:
    only this machine can reach the app then.
    """

    email: str
    name: str = ""
    admin: bool = False

    @classmethod
    def local(cls) -> Identity:
        return cls("", "local user", admin=True)

    @property
    def owner(self) -> str:
        """The value recorded in ``owner`` columns."""
        return self.email

    @property
    def display(self) -> str:
        return self.email or "local user"

    def may_manage(self, owner: str | None) -> bool:
        """Owner or admin. Rows from before login was on (owner "") are admin-only."""
        return self.admin or (bool(self.email) and self.email == (owner or "").strip().lower())

    def require_manage(self, owner: str | None, what: str) -> None:
        """Raise PermissionDeniedError unless ``may_manage(owner)``; ``what`` names the thing in the message."""
        if not self.may_manage(owner):
            raise PermissionDeniedError(f"Only its owner ({owner or 'unknown'}) or an admin can {what}.")


def show_owner(owner: str | None) -> str:
    """An owner column for a table: the address, or a dash for rows from before login."""
    return owner or "—"


# --- allow-list --------------------------------------------------------------------------------------
def allows(access: AccessSettings, email: str) -> bool:
    """True when ``email`` matches the allow-list (exact address, its exact domain, or '*') or is an admin."""
    email = email.strip().lower()
    if "@" not in email:
        return False
    domain = email.rsplit("@", 1)[1]
    return any(_matches(entry, email, domain) for entry in (*access.allow, *access.admins))


def is_admin(access: AccessSettings, email: str) -> bool:
    return email.strip().lower() in access.admins


def identify(access: AccessSettings, claims: Mapping) -> Identity:
    """The identity of a signed-in user from their ID-token claims (``st.user``).

    Raises AccessDeniedError: no address, an address the provider marks unverified, or not allowed.
    """
    email = str(claims.get("email") or "").strip().lower()
    if not email:
        raise AccessDeniedError(
            "Your sign-in did not share an email address, so Vigil cannot tell who you are "
            "(the provider must grant the 'email' scope)."
        )
    if str(claims.get("email_verified", "")).lower() == "false":  # some providers send the string "false"
        raise AccessDeniedError(f"{email} is not verified by your sign-in provider.")
    if not allows(access, email):
        hint = " Nobody is allowed yet: an administrator must set VIGIL_AUTH_ALLOW." if not access.allow else ""
        raise AccessDeniedError(f"{email} is not allowed to use this Vigil.{hint}")
    name = str(claims.get("name") or "").strip()
    return Identity(email, name, admin=is_admin(access, email))


def _matches(entry: str, email: str, domain: str) -> bool:
    if entry in ("*", email):
        return True
    bare = entry.removeprefix("@")
    return "@" not in bare and bare == domain  # a domain entry matches that exact domain, not its look-alikes


# --- serving -----------------------------------------------------------------------------------------
def is_local_address(address: str) -> bool:
    """True for an address only this machine can reach: loopback names and IPs, or a unix socket."""
    a = address.strip().lower()
    if a.startswith("unix://"):
        return True
    if a in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(a.strip("[]")).is_loopback
    except ValueError:
        return False


def serving_problem(address: str | None, auth_configured: bool, allow_no_login: bool = False) -> str | None:
    """One line saying why the app must not start, or None when it may.

    ``address``: the listening address (Streamlit's ``server.address``; empty/None = every interface);
    ``allow_no_login``: the operator's override (``VIGIL_ALLOW_NO_LOGIN``).
    """
    if auth_configured or allow_no_login or is_local_address(address or ""):
        return None
    where = address or "every network interface"
    return (
        f"Refusing to serve Vigil on {where} without login: configure [auth] in .streamlit/secrets.toml "
        f"(see README, 'Opening Vigil to a network'), listen on localhost, or set {OVERRIDE_ENV}=1 to accept "
        "that anyone who reaches the port can use everything."
    )


# --- limits ------------------------------------------------------------------------------------------
class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (a sliding window). Thread-safe.

    ``clock``: epoch seconds; tests pass their own.
    """

    def __init__(self, limit: int, window: float = 3600.0, clock=time.time):
        self.limit, self.window, self.clock = limit, window, clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, what: str = "this") -> None:
        """Count one event for ``key`` or raise LimitError saying when the next one is possible."""
        now = self.clock()
        with self._lock:
            q = self._events.setdefault(key, deque())
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.limit:
                wait = q[0] + self.window - now
                raise LimitError(
                    f"Limit reached: {self.limit} {what} per {self.window / 60:.0f} minutes. "
                    f"Try again in {max(1, round(wait / 60))} minute(s)."
                )
            q.append(now)


def check_source_quota(running_owners: list[str], owner: str, settings: AccessSettings) -> None:
    """Raise LimitError when one more running source for ``owner`` would pass a limit.

    ``running_owners``: the owner of every running source (one entry per source).
    """
    if len(running_owners) >= settings.max_sources:
        raise LimitError(
            f"{len(running_owners)} server sources are already running, the most this server allows "
            f"({settings.max_sources}); stop one first."
        )
    mine = sum(1 for o in running_owners if o == owner)
    if mine >= settings.max_sources_per_user:
        raise LimitError(
            f"You already run {mine} server sources, the most one user may ({settings.max_sources_per_user}); "
            "stop one first."
        )
