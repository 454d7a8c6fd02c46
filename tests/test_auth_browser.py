"""Login in a real browser against a real OpenID Connect provider on 127.0.0.1 (tests/oidc_provider.py).

``streamlit run app.py`` with ``[auth]`` pointing at the provider and an allow-list of alice and bob:

- signed out, any page (a deep link too) shows only the sign-in page;
- alice signs in through the provider (code flow, PKCE, RS256 ID token) and gets the pages; she starts a
  server-side live source; an analysis of hers is in the store;
- bob, signed in in another browser, sees neither her source nor a way to stop it, and cannot delete her
  analysis; eve, whom the provider signs in but the allow-list does not name, gets no page at all;
- alice can still stop her source and delete her analysis (the checks are owner-or-admin, not "nobody");
  signing out leads back to the sign-in page.
"""

from __future__ import annotations

import pytest
from browser import chromium, screenshot, streamlit_app
from conftest import moving_square_frames, write_video
from oidc_provider import OIDCProvider
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from core.db import Database
from core.engine import analyze
from core.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ALICE = {"sub": "a-1", "email": "alice@example.org", "email_verified": True, "name": "Alice"}
BOB = {"sub": "b-2", "email": "bob@example.org", "email_verified": True, "name": "Bob"}
EVE = {"sub": "e-3", "email": "eve@elsewhere.net", "email_verified": True, "name": "Eve"}
WAIT = 60_000  # ms; the first run of a page imports the models on 2 loaded cores


def secrets_toml(idp: OIDCProvider) -> str:
    return f"""
[auth]
redirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"
cookie_secret = "test-cookie-secret-that-is-long-enough"
client_id = "{idp.client_id}"
client_secret = "{idp.client_secret}"
server_metadata_url = "{idp.metadata_url}"

[access]
allow = ["alice@example.org", "bob@example.org"]
"""


def sign_in(page, url: str, idp: OIDCProvider, user: dict) -> None:
    """Open the app signed out, press Sign in; the provider approves ``user`` and sends the browser back."""
    idp.user = user
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in").click(timeout=WAIT)
    page.wait_for_url(f"{url}/", timeout=WAIT)


def sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def delete_from_history(page) -> None:
    """Open the Delete popover and confirm. On a loaded machine the results may still be drawing (chart, thumbnails)
    when the popover opens, and the grown page leaves its button out of view: close it and open it again."""
    page.get_by_role("heading", name="yard.avi").wait_for(timeout=WAIT)
    for attempt in range(3):
        page.get_by_role("button", name="Delete this analysis").click(timeout=WAIT)
        try:
            page.get_by_role("button", name="Delete", exact=True).click(timeout=10_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


def test_login_allow_list_and_owners(tmp_path, vigil_env):
    data = vigil_env
    clip = write_video(tmp_path / "yard.avi", moving_square_frames(n=30), fps=10)
    theirs = analyze(clip, store=Store(Database(data / "vigil.sqlite")), owner=ALICE["email"])
    (data / "videos").mkdir(parents=True)  # inside the data folder: a root the Live file source accepts
    loop = write_video(data / "videos" / "door.avi", moving_square_frames(n=40, seed=3), fps=10)

    with OIDCProvider() as idp:
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(secrets_toml(idp))
        args = ["--secrets.files", str(secrets)]
        with streamlit_app(data, tmp_path / "st.log", args=args) as url, chromium() as page:
            browser = page.context.browser

            # --- signed out: a deep link shows the sign-in page and nothing else -----------------------
            page.goto(f"{url}/history", wait_until="domcontentloaded")
            page.get_by_role("button", name="Sign in").wait_for(timeout=WAIT)
            assert page.locator('[data-testid="stSidebarNav"]').count() == 0
            body = page.inner_text("body")
            assert "Analyses" not in body and "Page not found" not in body and not idp.issued
            screenshot(page, "auth_signed_out.png")

            # --- alice signs in: pages, her name, her live source ------------------------------------
            sign_in(page, url, idp, ALICE)
            page.get_by_text("Signed in as").wait_for(timeout=WAIT)
            assert "alice@example.org" in sidebar_text(page) and "History" in sidebar_text(page)
            assert idp.issued[-1]["email"] == "alice@example.org" and idp.issued[-1]["nonce"]
            page.goto(f"{url}/live", wait_until="domcontentloaded")
            page.get_by_text("Server stream or file").click(timeout=WAIT)
            box = page.get_by_role("textbox", name="Stream URL or video file on the server")
            box.fill(str(loop))
            box.press("Enter")
            page.get_by_role("button", name="Start monitoring").click()
            page.get_by_text("owner alice@example.org").wait_for(timeout=WAIT)
            # the source rows redraw every 2 s (a fragment): wait for the button rather than count at one instant
            page.get_by_role("button", name="Stop").wait_for(timeout=WAIT)
            assert page.get_by_role("button", name="Stop").count() == 1
            screenshot(page, "auth_live_owner.png")

            # --- bob: signed in and allowed, but alice's things are not his ---------------------------
            bob = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            sign_in(bob, url, idp, BOB)
            bob.get_by_text("Signed in as").wait_for(timeout=WAIT)
            assert "bob@example.org" in sidebar_text(bob)
            bob.goto(f"{url}/live", wait_until="domcontentloaded")
            bob.get_by_text("Server stream or file").click(timeout=WAIT)
            bob.get_by_text("1 of 4 running on this server").wait_for(timeout=WAIT)
            assert bob.get_by_role("button", name="Stop").count() == 0
            assert "door.avi" not in bob.inner_text("body")
            bob.goto(f"{url}/history?id={theirs.id}", wait_until="domcontentloaded")
            delete = bob.get_by_role("button", name="Delete this analysis")
            delete.wait_for(timeout=WAIT)
            assert delete.is_disabled()
            bob.get_by_role("heading", name="yard.avi").wait_for(timeout=WAIT)  # he may look, not delete
            screenshot(bob, "auth_other_user_history.png")

            # --- eve: the provider vouches for her, the allow-list does not ---------------------------
            eve = browser.new_context().new_page()
            sign_in(eve, url, idp, EVE)
            eve.get_by_text("eve@elsewhere.net is not allowed").wait_for(timeout=WAIT)
            assert eve.locator('[data-testid="stSidebarNav"]').count() == 0
            eve.goto(f"{url}/history", wait_until="domcontentloaded")
            eve.get_by_text("is not allowed").wait_for(timeout=WAIT)
            assert "Analyses" not in eve.inner_text("body")
            screenshot(eve, "auth_not_allowed.png")

            # --- alice still owns both: her source kept running, she stops it and deletes -------------
            page.reload(wait_until="domcontentloaded")
            page.get_by_text("Server stream or file").click(timeout=WAIT)
            page.get_by_text("door.avi — running").wait_for(timeout=WAIT)
            page.get_by_role("button", name="Stop").click()
            page.get_by_text("0 of 4 running on this server").wait_for(timeout=WAIT)
            assert Store(Database(data / "vigil.sqlite")).list()[0]["id"] == theirs.id  # bob deleted nothing
            page.goto(f"{url}/history?id={theirs.id}", wait_until="domcontentloaded")
            delete_from_history(page)
            page.get_by_text("No analysis yet").wait_for(timeout=WAIT)

            # --- signing out leads back to the sign-in page -------------------------------------------
            page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out").click()
            page.get_by_role("button", name="Sign in").wait_for(timeout=WAIT)
            page.goto(f"{url}/live", wait_until="domcontentloaded")
            page.get_by_role("button", name="Sign in").wait_for(timeout=WAIT)
    assert Store(Database(data / "vigil.sqlite")).list() == []
