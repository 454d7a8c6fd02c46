"""Pre-flight of ``scripts/run_app.sh``: refuse to start serving a network without login.

``python -m ui.serving [streamlit run flags...]`` reads the listening address the way ``streamlit run``
would (flags, then ``STREAMLIT_SERVER_ADDRESS``, then .streamlit/config.toml) and whether secrets.toml
has ``[auth]``; it prints one line and exits 2 when the app must not start. app.py's gate repeats the
check for an app started some other way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from core.access import serving_problem
from core.errors import ConfigError
from core.settings import settings


def flag_options(argv: Sequence[str]) -> dict[str, list[str]]:
    """Every ``--section.option value`` / ``--section.option=value`` of a ``streamlit run`` command line."""
    found: dict[str, list[str]] = {}
    args = list(argv)
    for i, arg in enumerate(args):
        if not arg.startswith("--") or "." not in arg:
            continue
        name, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args):
                continue
            value = args[i + 1]
        found.setdefault(name, []).append(value)
    return found


def listening_address(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str | None:
    """The ``server.address`` ``streamlit run argv`` would use (None or "" = every interface)."""
    from streamlit import config

    env = os.environ if env is None else env
    flags = flag_options(argv)
    if env.get("STREAMLIT_SERVER_ADDRESS") and "server.address" not in flags:
        flags["server.address"] = [env["STREAMLIT_SERVER_ADDRESS"]]
    # The two options the check reads: secrets.files repeats (every value counts), the address does not.
    options: dict[str, object] = {}
    if "server.address" in flags:
        options["server.address"] = flags["server.address"][-1]
    if "secrets.files" in flags:
        options["secrets.files"] = flags["secrets.files"]
    config.get_config_options(force_reparse=True, options_from_flags=options)
    return config.get_option("server.address")


def auth_in_secrets() -> bool:
    """True when a secrets.toml Streamlit would read has an ``[auth]`` section."""
    from streamlit.runtime.secrets import secrets_singleton

    try:
        return bool(secrets_singleton.load_if_toml_exists() and secrets_singleton.get("auth"))
    except Exception:  # noqa: BLE001 - an unreadable secrets file: Streamlit itself will say why
        return False


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        allow_no_login = settings().allow_no_login
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    problem = serving_problem(listening_address(argv), auth_in_secrets(), allow_no_login)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
