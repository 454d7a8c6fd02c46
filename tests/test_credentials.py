"""A link's ``user:pass@`` is used for the download and then forgotten: a unique password is searched for
in the database, the data folder, the exports, the logs, the CLI output and the pages."""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path

import pytest
from conftest import QuietHandler, http_server
from streamlit.testing.v1 import AppTest

from core.cli import main
from core.errors import SourceError
from core.sources import open_source

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Zq7-unique-pw-93xk"


class AuthSite(QuietHandler):
    hits: list[str] = []
    auth: list[str] = []

    def do_GET(self):
        type(self).auth.append(self.headers.get("Authorization", ""))
        super().do_GET()


@pytest.fixture
def site(tmp_path, make_video):
    root = tmp_path / "site"
    root.mkdir()
    (root / "clip.mp4").write_bytes(make_video("clip.mp4", n=40, fps=10, fast_from=20, fast_to=26).read_bytes())
    AuthSite.auth = []
    with http_server(root, handler=AuthSite) as url:
        yield url


def with_password(url: str, path: str = "/clip.mp4") -> str:
    return url.replace("http://", f"http://alice:{PASSWORD}@") + path


def files_containing(folder: Path, needle: str) -> list[str]:
    hits = []
    for p in folder.rglob("*"):
        if needle in p.name:
            hits.append(str(p))
        elif p.is_file() and needle.encode() in p.read_bytes():
            hits.append(str(p))
    return hits


def page_text(at: AppTest) -> str:
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    return "\n".join(out)


def test_cli_analysis_of_a_link_with_credentials_keeps_no_trace_of_the_password(
    site, tmp_path, vigil_env, capsys, caplog
):
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "out"
    assert main(["analyze", with_password(site), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    expected = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert expected in AuthSite.auth  # the credentials were used for the download
    assert PASSWORD not in printed.out + printed.err + caplog.text
    assert "clip.mp4" in printed.out  # the run did print what it analysed
    assert files_containing(vigil_env, PASSWORD) == []  # sqlite, -wal, thumbnails, downloads (names too)
    assert files_containing(out, PASSWORD) == []  # segments.json, CSVs, thumbnail names
    assert list(vigil_env.glob("vigil.sqlite*"))  # the store was written (the search above was not vacuous)

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page("app_pages/history.py")
    at.run()
    text = page_text(at)
    assert "127.0.0.1" in text and PASSWORD not in text  # History lists it, without the password


def test_analyze_page_with_a_credentialed_link_shows_and_stores_no_password(site, vigil_env):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.switch_page("app_pages/analyze.py")
    at.run()
    at.text_input(key="analyze.url").set_value(with_password(site))
    at.button(key="analyze.go_link").click()
    at.run()
    from ui.cache import job_registry

    deadline = time.monotonic() + 120
    while job_registry().jobs(""):  # a server job: the page polls it, and its progress line names the link too
        assert PASSWORD not in page_text(at).replace(with_password(site), "")
        assert time.monotonic() < deadline, "the analysis did not finish"
        time.sleep(0.2)
        at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.subheader and "127.0.0.1" in at.subheader[0].value
    visible = page_text(at).replace(with_password(site), "")  # the text box itself holds what was typed
    assert PASSWORD not in visible
    assert files_containing(vigil_env, PASSWORD) == []


def test_errors_for_a_credentialed_link_do_not_repeat_the_password(site):
    with pytest.raises(SourceError) as err:
        open_source(with_password(site, "/missing.mp4"))
    assert "404" in str(err.value) and PASSWORD not in str(err.value)
