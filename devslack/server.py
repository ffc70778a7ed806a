"""``FakeSlack``: a local, in-process stand-in for Slack's Web API.

It serves the documented Web API shapes on a loopback port so that the real
app (through slack_sdk's ``AsyncWebClient(base_url=fake.base_url)``) cannot tell
it apart from Slack for the methods it implements:

* every method answers HTTP 200 with ``{"ok": true, ...}`` or
  ``{"ok": false, "error": "..."}``; an unknown method answers
  ``unknown_method``; rate limits answer HTTP 429 with ``Retry-After``;
* arguments are read from the query string and from form-encoded, multipart or
  JSON bodies, the token from ``Authorization: Bearer`` or a ``token`` field
  (``devslack.http``): no token gives ``not_authed``, a wrong one ``invalid_auth``.

Files are served at their ``url_private``/``url_private_download`` only with
``Authorization: Bearer <bot token>``. Without it the fake does what Slack does
for a browser without a session: HTTP 302 to a sign-in page that answers 200
with HTML. A downloader that follows redirects and does not check the
content type therefore receives HTML instead of the file, exactly as in
production.

A response_url (``new_response_url``) accepts 5 POSTs within 30 minutes, as
Slack documents; afterwards, or for an unknown URL, it answers HTTP 404 with
``{"ok": false, "error": "expired_url"}``.

How it is built: ``Workspace`` (``devslack.workspace``) holds the state; the Web API methods are
functions grouped by family (``devslack.webapi``: auth, chat, conversations, files, reactions,
users, views) joined in one method table; ``FakeSlack`` adds what a test uses to set the scene
(``devslack.arrange``), to read it back (``devslack.inspection``), the call log and fault
injection (``devslack.recording``) and the HTTP surface (``devslack.http``).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from devslack.arrange import Arrange
from devslack.errors import SlackApiError
from devslack.http import HttpSurface
from devslack.inspection import Inspection
from devslack.oauth import FakeOAuth
from devslack.serving import BackgroundServer
from devslack.webapi import METHODS

__all__ = ["FakeSlack", "SlackApiError"]


class FakeSlack(HttpSurface, Inspection, Arrange):
    """A Slack workspace and Web API server on ``127.0.0.1``.

    Usage::

        with FakeSlack() as slack:
            slack.add_user("U1", "ann@example.com", real_name="Ann")
            client = WebClient(token=slack.bot_token, base_url=slack.base_url)
            client.chat_postMessage(channel="U1", text="hi")
            assert slack.dm_messages("U1")[0].text == "hi"
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-devslack-0000000001-bottoken",
        team_id: str = "T0DEVSLACK",
        team_name: str = "Expense Demo",
        team_domain: str = "expense-demo",
        bot_user_id: str = "U0EXPENSEBOT",
        bot_id: str = "B0EXPENSEBOT",
        app_id: str = "A0EXPENSEBOT",
        bot_name: str = "expensebot",
        host: str = "127.0.0.1",
        port: int = 0,
        trigger_ttl: float = 30.0,
    ) -> None:
        super().__init__(
            bot_token=bot_token,
            team_id=team_id,
            team_name=team_name,
            team_domain=team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            bot_name=bot_name,
            host=host,
            port=port,
            trigger_ttl=trigger_ttl,
        )
        self._server: BackgroundServer | None = None
        # This fake's own copy of the method table: a test may add or replace a method on one fake.
        self._handlers = dict(METHODS)
        self.oauth = FakeOAuth(self)  # the install flow: authorize page and oauth.v2.access
        self.asgi_app = Starlette(
            routes=[
                Route("/oauth/v2/authorize", self.oauth.handle_authorize, methods=["GET"]),
                Route("/api/{method}", self._handle_api, methods=["GET", "POST"]),
                Route("/upload/v1/{key}", self._handle_upload, methods=["POST"]),
                Route("/files-pri/{team_file}/{rest:path}", self._handle_download, methods=["GET"]),
                Route("/signin", self._handle_signin, methods=["GET"]),
                Route("/actions/{key}", self._handle_response_url, methods=["POST"]),
            ]
        )

    # ------------------------------------------------------------------ server

    def start(self) -> FakeSlack:
        """Serve on a background thread; returns once the port accepts connections."""
        if self._server is None:
            server = BackgroundServer(
                self.asgi_app, host=self._host, port=self._requested_port, name="devslack"
            )
            server.start()
            self._server = server
            self._port = server.port
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None
