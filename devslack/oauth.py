"""Slack's OAuth v2 side of the stand-in: the authorize page and ``oauth.v2.access``.

As documented at https://api.slack.com/authentication/oauth-v2 and
https://api.slack.com/methods/oauth.v2.access:

- ``GET /oauth/v2/authorize?client_id&scope&state[&redirect_uri]`` is where Slack asks the
  installer to allow the app; here the installer (``installer``) always allows, and the browser
  is sent to the redirect URL with ``code`` and ``state`` (or with ``error=access_denied`` when
  ``deny_next`` is set). A bad ``client_id`` gets an error page, as on Slack.
- ``oauth.v2.access`` takes the client credentials (HTTP Basic, or ``client_id`` /
  ``client_secret`` fields) and ``code`` (one use, ten minutes), or ``grant_type=refresh_token``
  with ``refresh_token`` when token rotation is on. Errors: ``invalid_client_id``,
  ``bad_client_secret``, ``invalid_code``, ``bad_redirect_uri``, ``invalid_grant_type``,
  ``invalid_refresh_token``.
- :meth:`FakeOAuth.uninstall` revokes the workspace's tokens (calls then fail ``invalid_auth``);
  the caller delivers the ``app_uninstalled`` event with the driver.
"""

from __future__ import annotations

import base64
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

if TYPE_CHECKING:
    from devslack.server import FakeSlack

CODE_TTL = 600.0


@dataclass
class _Code:
    scope: str
    user_id: str
    redirect_uri: str | None
    expires_at: float


class FakeOAuth:
    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.client_id = "0000000001.0000000002"
        self.client_secret = "devslack-client-secret"
        self.redirect_url: str | None = None  # the app's configured Redirect URL
        self.installer: str | None = None  # who clicks "Allow" (default: the first person)
        self.token_rotation = False
        self.expires_in = 43200
        self.deny_next = False
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> its bot token
        self._earlier: set[str] = set()  # rotated-out tokens work until they expire (or uninstall)
        self.installed = False

    @property
    def authorize_url(self) -> str:
        return f"{self.fake.root_url}/oauth/v2/authorize"

    def token_valid(self, token: str) -> bool:
        return self.fake.bot_token == token or token in self._earlier

    def issue_code(self, scope: str = "", redirect_uri: str | None = None, user_id: str | None = None) -> str:
        code = f"{self.fake.team_id}.{secrets.token_hex(12)}"
        with self.fake._lock:
            self._codes[code] = _Code(
                scope, user_id or self._installer(), redirect_uri, time.time() + CODE_TTL
            )
        return code

    def _installer(self) -> str:
        if self.installer:
            return self.installer
        people = [u.id for u in self.fake._users.values() if not u.is_bot]
        return people[0] if people else "U0INSTALLER"

    def uninstall(self) -> None:
        """The workspace removed the app: its tokens stop working."""
        with self.fake._lock:
            self.fake.bot_token = f"xoxb-revoked-{secrets.token_hex(8)}"
            self._refresh.clear()
            self._earlier.clear()
            self.installed = False

    async def handle_authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != self.client_id:
            return HTMLResponse("<h1>Something went wrong</h1><p>invalid_client_id</p>", status_code=400)
        redirect = query.get("redirect_uri") or self.redirect_url
        if not redirect:
            return HTMLResponse("<h1>Something went wrong</h1><p>bad_redirect_uri</p>", status_code=400)
        params: dict[str, str] = {"state": query.get("state", "")}
        if self.deny_next:
            self.deny_next = False
            params["error"] = "access_denied"
        else:
            params["code"] = self.issue_code(query.get("scope", ""), query.get("redirect_uri"))
        sep = "&" if "?" in redirect else "?"
        return RedirectResponse(f"{redirect}{sep}{urllib.parse.urlencode(params)}", status_code=302)

    def access(self, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        """``oauth.v2.access``; raises the server's SlackApiError for Slack's documented errors."""
        from devslack.errors import SlackApiError

        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        if authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode()
            except ValueError:
                raise SlackApiError("invalid_client_id") from None
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id:
            raise SlackApiError("invalid_client_id")
        if client_secret != self.client_secret:
            raise SlackApiError("bad_client_secret")
        grant = args.get("grant_type") or "authorization_code"
        if grant == "refresh_token":
            return self._refresh_grant(str(args.get("refresh_token") or ""))
        if grant != "authorization_code":
            raise SlackApiError("invalid_grant_type")
        with self.fake._lock:
            code = self._codes.pop(str(args.get("code") or ""), None)
        if code is None or code.expires_at < time.time():
            raise SlackApiError("invalid_code")
        if code.redirect_uri is not None and args.get("redirect_uri") != code.redirect_uri:
            raise SlackApiError("bad_redirect_uri")
        fake = self.fake
        body: dict[str, Any] = {
            "ok": True,
            "access_token": fake.bot_token,
            "token_type": "bot",
            "scope": code.scope,
            "bot_user_id": fake.bot_user_id,
            "app_id": fake.app_id,
            "team": {"name": fake.team_name, "id": fake.team_id},
            "enterprise": None,
            "authed_user": {"id": code.user_id},
            "is_enterprise_install": False,
        }
        if self.token_rotation:
            body.update(self._rotated())
        self.installed = True
        return body

    def _rotated(self) -> dict[str, Any]:
        fake = self.fake
        self._earlier.add(fake.bot_token)
        fake.bot_token = f"xoxe.xoxb-1-{secrets.token_hex(24)}"
        refresh = f"xoxe-1-{secrets.token_hex(24)}"
        self._refresh[refresh] = fake.bot_token
        return {"access_token": fake.bot_token, "refresh_token": refresh, "expires_in": self.expires_in}

    def _refresh_grant(self, refresh_token: str) -> dict[str, Any]:
        from devslack.errors import SlackApiError

        with self.fake._lock:
            if refresh_token not in self._refresh:
                raise SlackApiError("invalid_refresh_token")
            del self._refresh[refresh_token]  # a refresh token is used once
            rotated = self._rotated()
        fake = self.fake
        return {
            "ok": True,
            "token_type": "bot",
            "scope": "",
            "bot_user_id": fake.bot_user_id,
            "app_id": fake.app_id,
            "team": {"name": fake.team_name, "id": fake.team_id},
            "enterprise": None,
            "is_enterprise_install": False,
            **rotated,
        }
