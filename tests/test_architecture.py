"""Shape rules from STYLE.md that a reviewer would otherwise have to remember."""

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
        for p in [*REPO.glob("*.py"), *(REPO / "pages").rglob("*.py"), *(REPO / "ui").rglob("*.py")]
        if "cache_resource" in p.read_text()
    )
    assert users == ["ui/cache.py"]


def test_pages_have_stable_url_paths():
    app = (REPO / "app.py").read_text()
    for path in ("analyze", "live", "label", "history"):
        assert f'url_path="{path}"' in app
