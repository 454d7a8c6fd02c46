"""Shape rules a reviewer would otherwise have to remember: core/ without Streamlit, one cache module,
stable page URLs, page scripts outside a legacy pages/ folder."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMPORTS_STREAMLIT = re.compile(r"^\s*(import streamlit|from streamlit)", re.M)


def test_core_never_imports_streamlit():
    offenders = [
        str(p.relative_to(REPO)) for p in (REPO / "core").rglob("*.py") if IMPORTS_STREAMLIT.search(p.read_text())
    ]
    assert offenders == []


def test_models_are_cached_with_cache_resource_in_exactly_one_module():
    users = sorted(
        str(p.relative_to(REPO))
        for p in [*REPO.glob("*.py"), *(REPO / "app_pages").rglob("*.py"), *(REPO / "ui").rglob("*.py")]
        if "cache_resource" in p.read_text()
    )
    assert users == ["ui/cache.py"]


def test_pages_have_stable_url_paths():
    app = (REPO / "app.py").read_text()
    for path in ("analyze", "live", "label", "history", "archive"):
        assert f'url_path="{path}"' in app


def test_page_scripts_live_in_app_pages_and_no_legacy_pages_folder_exists():
    # A pages/ folder beside app.py would be served in Streamlit's legacy mode until st.navigation runs
    # once, so a fresh server's first deep link (/analyze) would bypass the router.
    assert not (REPO / "pages").exists()
    app = (REPO / "app.py").read_text()
    routed = set(re.findall(r'st\.Page\("(app_pages/[a-z_]+\.py)"', app))
    assert routed == {str(p.relative_to(REPO)) for p in (REPO / "app_pages").glob("*.py")}
    assert len(routed) == 6
