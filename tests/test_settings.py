"""The settings root: every variable read in one place, env over secrets, typed errors, README table."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from core.alerts import AlertConfig
from core.config import data_dir
from core.errors import ConfigError
from core.settings import Settings, _fields, load_settings, settings, settings_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_table_is_the_generated_one_and_lists_every_field():
    text = README.read_text()
    table = re.search(r"<!-- settings-table:start -->\n(.*?)\n<!-- settings-table:end -->", text, re.S)
    assert table is not None, "README has no settings table"
    assert table.group(1) == settings_table()
    listed = set(re.findall(r"^\| `([a-z_.]+)` \| `(VIGIL_[A-Z_]+)`", table.group(1), re.M))
    expected = {(".".join(path), info.json_schema_extra["env"]) for path, info in _fields()}
    assert listed == expected and len(expected) == 33


def test_every_field_has_a_default_a_description_and_a_variable():
    envs = [info.json_schema_extra["env"] for _, info in _fields()]
    assert len(envs) == len(set(envs)) and all(e.startswith("VIGIL_") for e in envs)
    assert all(info.description for _, info in _fields())
    assert load_settings({}, {}) == Settings()  # every field has a default


def test_environment_wins_over_secrets_field_by_field(tmp_path):
    secrets = {"smtp": {"host": "smtp.gmail.com", "to": "a@x.org", "port": 465}, "webrtc": {"ice_servers": []},
               "alerts": {"threshold": 0.8, "seconds": 9}}  # fmt: skip
    env = {"VIGIL_SMTP_HOST": "127.0.0.1", "VIGIL_ALERT_SECONDS": "4", "VIGIL_DATA_DIR": str(tmp_path / "d"),
           "VIGIL_MODELS_DIR": f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}",
           "VIGIL_ICE_SERVERS": '[{"urls": ["stun:h:3478"]}]'}  # fmt: skip
    s = load_settings(secrets, env)
    assert (s.smtp.host, s.smtp.port, s.smtp.to) == ("127.0.0.1", 465, ("a@x.org",))
    assert (s.alerts.threshold, s.alerts.seconds) == (0.8, 4.0)
    assert s.data_dir == (tmp_path / "d").resolve()
    assert s.models_dirs == [(tmp_path / "a").resolve(), (tmp_path / "b").resolve()]
    assert s.webrtc.ice_servers == [{"urls": ["stun:h:3478"]}]


@pytest.mark.parametrize(
    "secrets, env, message",
    [
        ({}, {"VIGIL_ALERT_CAP": "lots"}, "VIGIL_ALERT_CAP"),
        ({}, {"VIGIL_ICE_SERVERS": "stun:h"}, "VIGIL_ICE_SERVERS"),
        ({"webrtc": {"ice_servers": [{"url": "x"}]}}, {}, "urls"),
        ({"smtp": {"host": "h", "pasword": "typo"}}, {}, "pasword"),
        ({}, {"VIGIL_SMTP_PORT": "70000"}, "VIGIL_SMTP_PORT"),
        ({"alerts": {"threshold": 0.05}}, {}, "hysteresis"),
    ],
)
def test_invalid_values_are_config_errors_naming_the_setting(secrets, env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(secrets, env)


def test_password_never_appears_in_an_error():
    with pytest.raises(ConfigError) as err:
        load_settings({"smtp": {"password": "hunter2-secret", "port": "x"}}, {})
    assert "hunter2" not in str(err.value) and "port" in str(err.value)


def test_accessor_follows_the_environment_between_calls(monkeypatch, tmp_path):
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "one"))
    assert data_dir() == (tmp_path / "one").resolve()
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "two"))
    assert settings().data_dir == data_dir() == (tmp_path / "two").resolve()
    monkeypatch.setenv("VIGIL_ALERT_THRESHOLD", "0.9")
    assert AlertConfig.from_env().threshold == 0.9
    monkeypatch.delenv("VIGIL_ALERT_THRESHOLD")
    assert AlertConfig.from_env().threshold == AlertConfig().threshold


def test_secrets_file_is_read_from_the_working_folder(monkeypatch, tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[smtp]\nhost = "mail.local"\nto = "a@x.org"\n')
    monkeypatch.chdir(tmp_path)
    assert settings().smtp.ready().host == "mail.local"
    monkeypatch.setenv("VIGIL_SMTP_HOST", "other")
    assert settings().smtp.host == "other"


def test_label_roots_default_to_data_dir_and_shared_data(tmp_path):
    (tmp_path / "shared" / "data").mkdir(parents=True)
    env = {"VIGIL_DATA_DIR": str(tmp_path / "d"), "VIGIL_SHARED_DIR": str(tmp_path / "shared")}
    assert load_settings({}, env).allowed_label_roots == [(tmp_path / "d").resolve(), tmp_path / "shared" / "data"]
    env["VIGIL_LABEL_ROOTS"] = str(tmp_path / "x")
    assert load_settings({}, env).allowed_label_roots == [(tmp_path / "x").resolve()]


def test_a_broken_secrets_file_is_a_config_error_naming_it(monkeypatch, tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text("[smtp\nhost = 1\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="secrets.toml is not valid TOML"):
        settings()
