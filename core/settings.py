"""The one settings root: every ``VIGIL_*`` environment variable and every secrets.toml value, validated.

``settings()`` is the accessor. It reads the environment and the secrets (``.streamlit/secrets.toml``
in the working folder, then ``~/.streamlit/secrets.toml``, or a mapping the page passes from
``st.secrets``) and returns a frozen ``Settings``. An environment variable wins over the secrets file
field by field, so a deployment (or a test) can override a secrets file. The result is cached on the
``VIGIL_*`` variables, the working folder and the secrets, so a changed environment (a test's
monkeypatch) is seen at the next call and nothing leaks between tests.

Each field names its variable (``env``) and, where it has one, its secrets key (``secret``) in its
``json_schema_extra``; ``settings_table()`` renders the README's table from them and a test checks the
README against it. An invalid value is a ``ConfigError`` that names the variable or key.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from core.errors import ConfigError, EmailError, EmailNotConfiguredError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
SECRETS_FILES = (Path(".streamlit") / "secrets.toml", Path("~/.streamlit/secrets.toml"))  # first wins, like Streamlit


def setting(default: Any, env: str, description: str, secret: str | None = None, **bounds) -> Any:
    """A field that says which environment variable (and secrets key, ``section.key``) sets it."""
    extra = {"env": env} | ({"secret": secret} if secret else {})
    return Field(default, description=description, json_schema_extra=extra, **bounds)


def validated(cls: type[BaseModel], **values) -> BaseModel:
    """Build a config, turning pydantic's error into a ConfigError a user can read."""
    try:
        return cls(**values)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"Setting '{where}': {first['msg']}") from None


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThresholdBand:
    """Mixin of configs with an on ``threshold`` and a ``hysteresis`` band below it (0..1 scores)."""

    threshold: float
    hysteresis: float

    @property
    def off_threshold(self) -> float:
        return max(0.0, self.threshold - self.hysteresis)

    def with_threshold(self, threshold: float, **changes):
        """A validated copy at ``threshold`` with ``changes``; the band shrinks to fit under a low
        threshold (hysteresis = min(hysteresis, threshold)). Raises ConfigError."""
        hysteresis = min(changes.pop("hysteresis", self.hysteresis), threshold)
        values = self.model_dump() | changes | {"threshold": threshold, "hysteresis": hysteresis}  # type: ignore[attr-defined]
        return validated(type(self), **values)  # type: ignore[arg-type]


def _path_list(v: Any) -> Any:
    """``a:b`` (``os.pathsep``) or a list -> list of paths; empty entries dropped."""
    if isinstance(v, str):
        v = v.split(os.pathsep)
    return [p for p in v if str(p).strip()] if isinstance(v, list | tuple) else v


def _resolved(p: Path) -> Path:
    return Path(p).expanduser().resolve()


# --- sections ------------------------------------------------------------------------------------
class SmtpSettings(_Section):
    """Where and how alert emails are sent (``[smtp]`` in secrets.toml). ``password`` is a SecretStr:
    its repr and str are masked. Unconfigured (no host or no recipient) is valid: ``ready()`` says so."""

    host: str = setting("", "VIGIL_SMTP_HOST", "SMTP server, e.g. smtp.gmail.com (required for email).", "smtp.host")
    port: int = setting(
        0, "VIGIL_SMTP_PORT", "SMTP port; 0 = the usual one (465 ssl, 587 starttls, 25 none).", "smtp.port", ge=0,
        le=65535,
    )  # fmt: skip
    user: str = setting("", "VIGIL_SMTP_USER", "Login user; empty means no login (a local relay).", "smtp.user")
    password: SecretStr = setting(
        SecretStr(""), "VIGIL_SMTP_PASSWORD", "Login password (Gmail: an app password); never shown.", "smtp.password"
    )
    security: Literal["ssl", "starttls", "none"] = setting(
        "starttls", "VIGIL_SMTP_SECURITY", "Transport security: ssl, starttls or none.", "smtp.security"
    )
    sender: str = setting(
        "", "VIGIL_SMTP_FROM", "From address when no login is used (default vigil@localhost).", "smtp.sender"
    )
    to: tuple[str, ...] = setting(
        (), "VIGIL_ALERT_TO", "Alert email recipients, comma-separated (required for email).", "smtp.to"
    )
    timeout: float = setting(
        20.0, "VIGIL_SMTP_TIMEOUT", "Network timeout per SMTP operation (s).", "smtp.timeout", gt=0, le=300
    )

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
        # "(none)" read as "no recipient": name the encryption, or say there is none
        security = {"ssl": "SSL", "starttls": "STARTTLS", "none": "no encryption"}.get(self.security, self.security)
        return f"{self.host}:{self.effective_port} ({security}){who} → {', '.join(self.to)}"

    def ready(self) -> SmtpSettings:
        """``self`` when a host and a recipient are set; EmailNotConfiguredError naming what is missing."""
        missing = [env_name(SmtpSettings, k) for k in ("host", "to") if not getattr(self, k)]
        if missing:
            raise EmailNotConfiguredError(
                "Email is not configured: set " + " and ".join(missing) + " (or [smtp] host/to in secrets.toml)."
            )
        return self

    @classmethod
    def load(cls, secrets: Mapping | None = None, env: Mapping[str, str] | None = None) -> SmtpSettings:
        """Configured settings from ``secrets`` (``[smtp]`` or flat; None = none) and ``env`` (None = os.environ).

        Raises EmailNotConfiguredError when no host or recipient is set, EmailError when a value is
        invalid (the message never contains the password).
        """
        try:
            smtp = load_settings(secrets or {}, env).smtp
        except ConfigError as err:
            raise EmailError(f"Email {err}") from None
        return smtp.ready()

    @classmethod
    def try_load(cls, secrets: Mapping | None = None, env: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """``load`` that returns None when email is not configured (other errors still raise)."""
        try:
            return cls.load(secrets, env)
        except EmailNotConfiguredError:
            return None


class AlertConfig(ThresholdBand, _Section):
    """Settings of the sustained-anomaly rule (core/alerts.py). Seconds for durations, 0..1 for scores."""

    threshold: float = setting(
        0.6, "VIGIL_ALERT_THRESHOLD", "An episode starts when the smoothed score rises above this (0..1).",
        "alerts.threshold", ge=0.0, le=1.0,
    )  # fmt: skip
    hysteresis: float = setting(
        0.1, "VIGIL_ALERT_HYSTERESIS", "It ends when the smoothed score falls below threshold - hysteresis.",
        "alerts.hysteresis", ge=0.0, le=1.0,
    )  # fmt: skip
    seconds: float = setting(
        3.0, "VIGIL_ALERT_SECONDS", "Alert when an episode has lasted this long (s): the 'N seconds'.",
        "alerts.seconds", ge=0.0, le=3600.0,
    )  # fmt: skip
    cooldown: float = setting(
        120.0, "VIGIL_ALERT_COOLDOWN", "After an alert, a source stays quiet this long (s).", "alerts.cooldown",
        ge=0.0, le=86400.0,
    )  # fmt: skip
    cap_per_hour: int = setting(
        10, "VIGIL_ALERT_CAP", "Most alert emails per hour; beyond it one digest summarises the rest.",
        "alerts.cap_per_hour", ge=1, le=1000,
    )  # fmt: skip
    smooth_seconds: float = setting(
        1.0, "VIGIL_ALERT_SMOOTH", "Width of the trailing (causal) moving average of the score (s).",
        "alerts.smooth_seconds", ge=0.0, le=30.0,
    )  # fmt: skip

    @model_validator(mode="after")
    def _band_fits(self) -> AlertConfig:
        if self.hysteresis > self.threshold:
            raise ValueError("hysteresis must not exceed the threshold")
        return self

    def updated(self, **changes) -> AlertConfig:
        """A validated copy with ``changes`` applied (the page's controls). Raises ConfigError."""
        return validated(type(self), **(self.model_dump() | changes))  # type: ignore[return-value]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> AlertConfig:
        """Defaults, then ``VIGIL_ALERT_*`` variables (``env``, None = os.environ), then ``overrides``."""
        return load_settings({}, env).alerts.updated(**overrides)


class WebrtcSettings(_Section):
    """How the Live page's browser camera connects (``[webrtc]`` in secrets.toml)."""

    ice_servers: list[dict] = setting(
        [], "VIGIL_ICE_SERVERS",
        "STUN/TURN servers, a JSON list like [{\"urls\": [\"stun:host:3478\"]}]. Default none: direct only.",
        "webrtc.ice_servers",
    )  # fmt: skip

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _parse(cls, v):
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except json.JSONDecodeError:
                raise ValueError('must be a JSON list like [{"urls": ["stun:host:3478"]}]') from None
        if not isinstance(v, list) or not all(isinstance(s, Mapping) and "urls" in s for s in v):
            raise ValueError("must be a list of tables, each with 'urls' (and for TURN username/credential)")
        return [dict(s) for s in v]


class AccessSettings(_Section):
    """Who may sign in, who administers, and the per-user limits (``[access]`` in secrets.toml; login
    itself is Streamlit's ``[auth]``). Addresses are kept lower-case; core/access.py applies them."""

    allow: tuple[str, ...] = setting(
        (), "VIGIL_AUTH_ALLOW",
        "Who may sign in: addresses, '@domain' (that exact domain) or '*', comma-separated; empty = nobody.",
        "access.allow",
    )  # fmt: skip
    admins: tuple[str, ...] = setting(
        (), "VIGIL_AUTH_ADMINS", "Addresses that may delete or stop anyone's things (always allowed in).",
        "access.admins",
    )  # fmt: skip
    max_sources: int = setting(
        4, "VIGIL_LIVE_MAX_SOURCES", "Running server-side live sources, all users together.", "access.max_sources",
        ge=1, le=100,
    )  # fmt: skip
    max_sources_per_user: int = setting(
        2, "VIGIL_LIVE_MAX_SOURCES_PER_USER", "Running server-side live sources per user.",
        "access.max_sources_per_user", ge=1, le=100,
    )  # fmt: skip
    test_emails_per_hour: int = setting(
        5, "VIGIL_TEST_EMAILS_PER_HOUR", "Test emails one user may send per hour.", "access.test_emails_per_hour",
        ge=1, le=1000,
    )  # fmt: skip

    @field_validator("allow", "admins", mode="before")
    @classmethod
    def _split(cls, v):
        if isinstance(v, str):
            v = v.split(",")
        return tuple(a.strip().lower() for a in v if a and str(a).strip())


# --- the root ------------------------------------------------------------------------------------
class Settings(BaseSettings):
    """Every setting of Vigil. Paths are resolved (``~`` expanded, relative to the working folder)."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True, validate_default=True)

    data_dir: Path = setting(
        Path("vigil-data"), "VIGIL_DATA_DIR", "Where analyses, uploads, feature caches and vigil.sqlite live."
    )
    models_dirs: list[Path] = setting(
        [], "VIGIL_MODELS_DIR", "Extra folders searched for weights and model cards before models/ (os.pathsep list)."
    )
    trained_dir: Path | None = setting(
        None, "VIGIL_TRAINED_DIR", "Where training writes new models; unset = <data dir>/models."
    )
    label_roots: list[Path] | None = setting(
        None, "VIGIL_LABEL_ROOTS",
        "Server folders pages may read: Label folders and CSVs, Live files (os.pathsep list); unset = data dir + "
        "<shared dir>/data.",
    )  # fmt: skip
    allow_private_hosts: tuple[str, ...] = setting(
        (), "VIGIL_ALLOW_PRIVATE_HOSTS",
        "Non-public hosts links and Live streams may reach: names, addresses or networks, optional :port, "
        "comma-separated (e.g. cam.lan,10.0.0.0/8,127.0.0.1:8080). Default none.",
    )  # fmt: skip
    uploads_max_mb: float = setting(
        20000.0, "VIGIL_UPLOADS_MAX_MB", "Size cap of kept uploads (MB; least recently used go first; 0 = none).",
        ge=0.0,
    )  # fmt: skip
    downloads_max_mb: float = setting(
        20000.0, "VIGIL_DOWNLOADS_MAX_MB", "Size cap of downloaded links (MB; least recently used go first; 0 = none).",
        ge=0.0,
    )  # fmt: skip
    interrupted_keep_days: float = setting(
        7.0, "VIGIL_INTERRUPTED_KEEP_DAYS",
        "Analyses a server restart interrupted, neither run again nor dismissed, are forgotten after this many days "
        "(with their kept upload, unless an analysis uses it; 0 = kept until dismissed).",
        ge=0.0,
    )  # fmt: skip
    min_free_mb: float = setting(
        20.0, "VIGIL_MIN_FREE_MB", "An analysis starts only with this much free space in the data folder (MB).",
        ge=0.0,
    )  # fmt: skip
    families_path: list[Path] = setting(
        [], "VIGIL_FAMILIES_PATH", "Extra folders holding model-family packages, after core/families (os.pathsep list)."
    )
    shared_dir: Path = setting(
        PROJECT_ROOT.parent / "shared", "VIGIL_SHARED_DIR", "The shared data and weights folder (tests, benchmarks)."
    )
    default_model: str = setting(
        "vigil", "VIGIL_DEFAULT_MODEL", "The model Analyze, Live, Label suggestions and the CLI use unless told."
    )
    allow_no_login: bool = setting(
        False, "VIGIL_ALLOW_NO_LOGIN",
        "1 = serve beyond localhost without [auth] login: anyone who reaches the port can use everything.",
    )  # fmt: skip
    smtp: SmtpSettings = SmtpSettings()
    alerts: AlertConfig = AlertConfig()
    webrtc: WebrtcSettings = WebrtcSettings()
    access: AccessSettings = AccessSettings()

    @field_validator("models_dirs", "families_path", "label_roots", mode="before")
    @classmethod
    def _lists(cls, v):
        return _path_list(v)

    @field_validator("allow_private_hosts", mode="before")
    @classmethod
    def _hosts(cls, v):
        if isinstance(v, str):
            v = v.split(",")
        return tuple(h.strip() for h in v if h and h.strip())

    @field_validator("data_dir", "trained_dir", "shared_dir", "models_dirs", "families_path", "label_roots")
    @classmethod
    def _resolve(cls, v):
        if v is None:
            return v
        return [_resolved(p) for p in v] if isinstance(v, list) else _resolved(v)

    @property
    def models_trained_dir(self) -> Path:
        """Where ``train`` writes new models: ``trained_dir`` or ``<data dir>/models`` (a user's models live with
        their data, never in the code checkout; the project's ``models/`` holds what ships and is still read)."""
        return self.trained_dir or self.data_dir / "models"

    @property
    def allowed_label_roots(self) -> list[Path]:
        """``label_roots``, or the data dir plus ``<shared dir>/data`` when that exists."""
        if self.label_roots is not None:
            return list(self.label_roots)
        shared = self.shared_dir / "data"
        return [self.data_dir] + ([shared.resolve()] if shared.is_dir() else [])

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_sources):
        # Only the values load_settings merged (env over secrets): pydantic-settings' own env source
        # cannot map VIGIL_SMTP_FROM onto smtp.sender, so it is not consulted.
        return (init_settings,)


# --- sources -------------------------------------------------------------------------------------
def _fields(model: type[BaseModel] = Settings, prefix: tuple[str, ...] = ()):
    """(path, FieldInfo) of every leaf setting, sections flattened: (("smtp", "host"), info), ..."""
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _fields(ann, (*prefix, name))
        else:
            yield (*prefix, name), info


def _extra(info: FieldInfo, key: str) -> str | None:
    extra = info.json_schema_extra
    return extra.get(key) if isinstance(extra, dict) else None  # type: ignore[return-value]


def env_name(section: type[BaseModel], field: str) -> str:
    return _extra(section.model_fields[field], "env") or field


def _put(tree: dict, path: tuple[str, ...], value: Any) -> None:
    for p in path[:-1]:
        tree = tree.setdefault(p, {})
    tree[path[-1]] = value


class _EnvSource(PydanticBaseSettingsSource):
    """The ``VIGIL_*`` variables, each mapped onto its field; empty values count as unset."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]):
        super().__init__(settings_cls)
        self.env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ maps the nested fields itself

    def __call__(self) -> dict[str, Any]:
        tree: dict[str, Any] = {}
        for path, info in _fields():
            raw = self.env.get(_extra(info, "env") or "", "").strip()
            if raw:
                _put(tree, path, raw)
        return tree


def _secrets_tree(secrets: Mapping) -> dict[str, Any]:
    """The sections of ``secrets`` that are settings; SMTP keys may also sit at top level (no ``[smtp]``)."""
    tree: dict[str, Any] = {}
    sections = {p[0] for p, _ in _fields() if len(p) == 2}
    for name in sections:
        table = secrets.get(name)
        if isinstance(table, Mapping):
            tree[name] = {k: v for k, v in table.items() if v not in (None, "")}
    if "smtp" not in tree:
        flat = {k: secrets[k] for k in SmtpSettings.model_fields if secrets.get(k) not in (None, "")}
        if flat:
            tree["smtp"] = flat
    return tree


def read_secrets_files() -> dict[str, Any]:
    """The first secrets.toml found (working folder, then home), parsed; {} when there is none."""
    for p in SECRETS_FILES:
        path = p.expanduser().absolute()
        if path.is_file():
            st = path.stat()
            return _parse_toml(path, st.st_mtime_ns, st.st_size)  # re-parsed only when the file changes
    return {}


@lru_cache(maxsize=4)
def _parse_toml(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None


def _where(loc: tuple) -> str:
    """'VIGIL_SMTP_PORT / [smtp] port' for an error location like ('smtp', 'port')."""
    path = tuple(str(p) for p in loc if not isinstance(p, int))
    for fpath, info in _fields():
        if path[: len(fpath)] == fpath:
            secret = _extra(info, "secret")
            hint = f" / secrets.toml [{secret.replace('.', '] ')}" if secret else ""
            return f"'{'.'.join(fpath)}' ({_extra(info, 'env')}{hint})"
    return f"'{'.'.join(path)}'"


def load_settings(secrets: Mapping | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build the root now: ``env`` (None = os.environ) over ``secrets`` (None = the secrets.toml files).

    Raises ConfigError naming the first invalid variable or key (never echoing a password).
    """
    env = os.environ if env is None else env
    secrets = read_secrets_files() if secrets is None else secrets
    env_tree = _EnvSource(Settings, env)()
    merged = _secrets_tree(secrets)
    for section, values in env_tree.items():
        if isinstance(values, dict) and isinstance(merged.get(section), dict):
            merged[section] = merged[section] | values
        else:
            merged[section] = values
    try:
        return Settings(**merged)
    except ValidationError as err:
        first = err.errors()[0]
        raise ConfigError(f"Setting {_where(first['loc'])}: {first['msg']}.") from None


@lru_cache(maxsize=16)
def _cached(env_items: tuple, cwd: str, secrets_key: str) -> Settings:
    return load_settings(json.loads(secrets_key), dict(env_items))


def settings(secrets: Mapping | None = None) -> Settings:
    """The current settings (cheap: cached on the ``VIGIL_*`` variables, working folder and secrets).

    ``secrets`` is what the page got from ``st.secrets``; None reads the secrets.toml files.
    """
    secrets = read_secrets_files() if secrets is None else secrets
    env_items = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("VIGIL_")))
    return _cached(env_items, os.getcwd(), json.dumps(secrets, sort_keys=True, default=str))


def settings_table() -> str:
    """The README's Markdown table: one row per setting (name, variable, secrets key, default, meaning)."""
    rows = ["| setting | environment variable | secrets.toml | default | meaning |", "|---|---|---|---|---|"]
    for path, info in _fields():
        default = info.default
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if isinstance(default, Path):
            default = str(default).replace(str(PROJECT_ROOT.parent), "..")
        shown = "(unset)" if default in (None, "", [], ()) else f"`{default}`"
        secret = _extra(info, "secret")
        where = f"`[{secret.split('.')[0]}] {secret.split('.')[1]}`" if secret else ""
        rows.append(f"| `{'.'.join(path)}` | `{_extra(info, 'env')}` | {where} | {shown} | {info.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
