"""A minimal OpenID Connect provider on 127.0.0.1 for tests: the real protocol, no real users.

Discovery document, an authorize endpoint that auto-approves whoever ``provider.user`` names (the test
switches it between sign-ins), a token endpoint that checks the client, the code, the redirect URI and
PKCE and issues an RS256-signed ID token, and the JWKS to verify it. Streamlit's ``st.login`` (Authlib)
validates the token against this exactly as against Google or Okta: issuer, audience, expiry, nonce.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey


class OIDCProvider:
    """``with OIDCProvider() as idp:`` serves on a free loopback port; ``idp.issuer`` is its URL."""

    def __init__(self, client_id: str = "vigil-test", client_secret: str = "vigil-test-secret"):
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.user: dict = {"sub": "alice", "email": "alice@example.org", "email_verified": True, "name": "Alice"}
        self.codes: dict[str, dict] = {}
        self.issued: list[dict] = []  # the claims of every ID token handed out
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> OIDCProvider:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def issuer(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    # --- protocol --------------------------------------------------------------------------------
    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        """(status, Location or error) for an authorization request; approves ``self.user`` at once."""
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return 400, "unknown client or response type"
        if "openid" not in query.get("scope", "").split() or not query.get("redirect_uri"):
            return 400, "not an OpenID Connect request"
        code = secrets.token_urlsafe(16)
        with self._lock:
            self.codes[code] = {
                "user": dict(self.user),
                "nonce": query.get("nonce"),
                "redirect_uri": query["redirect_uri"],
                "challenge": query.get("code_challenge"),
                "at": time.time(),
            }
        sep = "&" if "?" in query["redirect_uri"] else "?"
        return 302, query["redirect_uri"] + sep + urlencode({"code": code, "state": query.get("state", "")})

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return 401, {"error": "invalid_client"}
        with self._lock:
            grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None or time.time() - grant["at"] > 60:
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        if grant["challenge"]:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if digest != grant["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE check failed"}
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            **({"nonce": grant["nonce"]} if grant["nonce"] else {}),
            **grant["user"],
        }
        self.issued.append(claims)
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                     "id_token": id_token, "scope": "openid email profile"}  # fmt: skip

    def jwks(self) -> dict:
        return {"keys": [self.key.as_dict(private=False)]}

    # --- HTTP ------------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, idp.metadata())
                elif url.path == "/jwks":
                    self._json(200, idp.jwks())
                elif url.path == "/authorize":
                    status, where = idp.authorize(query)
                    if status == 302:
                        self.send_response(302)
                        self.send_header("Location", where)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    else:
                        self._json(status, {"error": where})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self):
                if urlparse(self.path).path != "/token":
                    self._json(404, {"error": "not found"})
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                self._json(*idp.token(form, self.headers.get("Authorization")))

        return Handler
