"""``FakeSlack``: a local, in-process stand-in for Slack's Web API.

It serves the documented Web API shapes on a loopback port so that the real
app (through slack_sdk's ``AsyncWebClient(base_url=fake.base_url)``) cannot tell
it apart from Slack for the methods it implements:

* every method answers HTTP 200 with ``{"ok": true, ...}`` or
  ``{"ok": false, "error": "..."}``; an unknown method answers
  ``unknown_method``; rate limits answer HTTP 429 with ``Retry-After``;
* arguments are read from the query string and from form-encoded, multipart or
  JSON bodies; JSON-encoded arguments (``blocks``, ``view``, ``files``...) may be
  strings or, in JSON bodies, plain JSON values;
* the token comes from ``Authorization: Bearer`` or a ``token`` form/query field
  (as with Slack, a ``token`` inside a JSON body is not read): no token gives
  ``not_authed``, a wrong one ``invalid_auth``.

Files are served at their ``url_private``/``url_private_download`` only with
``Authorization: Bearer <bot token>``. Without it the fake does what Slack does
for a browser without a session: HTTP 302 to a sign-in page that answers 200
with HTML. A downloader that follows redirects and does not check the
content type therefore receives HTML instead of the file, exactly as in
production.

A response_url (``new_response_url``) accepts 5 POSTs within 30 minutes, as
Slack documents; afterwards, or for an unknown URL, it answers HTTP 404 with
``{"ok": false, "error": "expired_url"}``.
"""

from __future__ import annotations

import asyncio
import copy
import email.parser
import email.policy
import json
import re
import secrets
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.devslack.models import (
    ApiCall,
    FakeChannel,
    FakeMessage,
    FakeUser,
    FileDownload,
    JsonDict,
    ResponseUrlPost,
)
from bot.devslack.oauth import FakeOAuth
from bot.devslack.serving import BackgroundServer
from bot.devslack.validation import validate_blocks, validate_view

__all__ = ["FakeSlack", "SlackApiError"]

# Arguments that Slack expects as JSON-encoded strings in form bodies.
JSON_ARGS = ("blocks", "attachments", "view", "files", "metadata")
MAX_TEXT = 40_000
MAX_VIEW_STACK = 3
# Slack: a response_url may be used up to 5 times within 30 minutes.
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL = 30 * 60.0


class SlackApiError(Exception):
    """Raised inside a method handler; becomes ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, *, messages: list[str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.extra = extra

    def body(self) -> JsonDict:
        out: JsonDict = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            out["response_metadata"] = {"messages": self.messages}
        return out


def _missing(name: str) -> SlackApiError:
    return SlackApiError("invalid_arguments", messages=[f"[ERROR] missing required field: {name}"])


@dataclass
class _Fault:
    kind: str  # "ratelimit" | "error" | "lost" (carried out, the answer held back)
    remaining: int
    error: str = "internal_error"
    status: int = 200
    retry_after: int = 1
    hold_seconds: float = 0.0


@dataclass
class _Trigger:
    user: str
    issued_at: float
    used: bool = False


@dataclass
class _ViewRecord:
    view: JsonDict
    user: str
    open: bool = True


@dataclass
class _ResponseUrl:
    channel: str | None
    user: str | None
    message_ts: str | None
    ephemeral: bool
    issued_at: float = field(default_factory=time.monotonic)
    posts: int = 0


@dataclass
class _File:
    meta: JsonDict
    content: bytes | None
    upload_key: str | None = None
    shared_to: list[str] = field(default_factory=list)


Handler = Callable[[JsonDict], JsonDict]

_FILETYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/heic": "heic",
    "image/heif": "heic",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "text",
    "text/csv": "csv",
}
_PRETTY = {
    "jpg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "heic": "HEIC",
    "pdf": "PDF",
    "text": "Plain Text",
    "csv": "CSV",
}


class FakeSlack:
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
        self.bot_token = bot_token
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.bot_name = bot_name
        self.trigger_ttl = trigger_ttl
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._server: BackgroundServer | None = None

        self._lock = threading.RLock()
        self._last_ts_us = 0
        self._calls: list[ApiCall] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._users: dict[str, FakeUser] = {}
        self._channels: dict[str, FakeChannel] = {}
        self._dms: dict[str, str] = {}
        self._mpims: dict[frozenset[str], str] = {}
        self._messages: dict[str, list[FakeMessage]] = {}
        self._ephemeral: list[FakeMessage] = []
        self._triggers: dict[str, _Trigger] = {}
        self._views: dict[str, _ViewRecord] = {}
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._opened: list[JsonDict] = []
        self._files: dict[str, _File] = {}
        self._uploads: dict[str, str] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._response_posts: list[ResponseUrlPost] = []
        self._downloads: list[FileDownload] = []
        self._listeners: list[Callable[[ApiCall], None]] = []
        self._pending_notifications: list[ApiCall] = []

        self._users[bot_user_id] = FakeUser(
            id=bot_user_id,
            email="",
            real_name=bot_name,
            tz="UTC",
            team_id=team_id,
            is_bot=True,
        )
        self._handlers: dict[str, Handler] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "team.info": self._team_info,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.list": self._users_list,
            "conversations.members": self._conversations_members,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.info": self._files_info,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.upload": self._retired,
        }
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

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return self._port

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The Web API base URL for slack_sdk (``.../api/``)."""
        return f"{self.root_url}/api/"

    # -------------------------------------------------------------- workspace

    def add_user(
        self,
        user_id: str,
        email: str,
        *,
        real_name: str | None = None,
        tz: str = "America/Los_Angeles",
        is_bot: bool = False,
        is_admin: bool = False,
        display_name: str = "",
    ) -> FakeUser:
        user = FakeUser(
            id=user_id,
            email=email,
            real_name=real_name
            if real_name is not None
            else email.split("@", 1)[0].replace(".", " ").title(),
            tz=tz,
            team_id=self.team_id,
            is_bot=is_bot,
            is_admin=is_admin,
            display_name=display_name,
        )
        with self._lock:
            self._users[user_id] = user
        return replace(user)

    def user(self, user_id: str) -> FakeUser:
        with self._lock:
            return replace(self._users[user_id])

    def display_name(self, user_id: str) -> str:
        """How Slack shows a user: display name, else real name, else the id."""
        with self._lock:
            user = self._users.get(user_id)
        if user is None:
            return user_id
        return user.display_name or user.real_name or user.name

    def transcript(self, channel: str) -> str:
        """The channel (or a user's bot DM) as readable text, ephemeral messages included."""
        from bot.devslack.render import render_message

        with self._lock:
            ch_id = self._dms.get(channel, channel)
            everything = [
                *self.messages(ch_id),
                *[copy.deepcopy(m) for m in self._ephemeral if m.channel == ch_id],
            ]
        everything.sort(key=lambda m: float(m.ts))
        return "\n\n".join(render_message(m, names=self.display_name) for m in everything)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        members: Iterable[str] | None = None,
        bot_is_member: bool = True,
    ) -> str:
        """Create a channel. ``members=None`` means everybody (like #general);
        otherwise only the listed users (plus the bot unless ``bot_is_member=False``)."""
        member_set: set[str] | None = None
        if members is not None or not bot_is_member:
            member_set = set(members or ())
            if bot_is_member:
                member_set.add(self.bot_user_id)
        with self._lock:
            self._channels[channel_id] = FakeChannel(
                id=channel_id, name=name.lstrip("#"), is_private=is_private, members=member_set
            )
            self._messages.setdefault(channel_id, [])
        return channel_id

    def channel(self, channel_id: str) -> FakeChannel:
        """A copy of a channel's record (DMs included); KeyError if unknown."""
        with self._lock:
            return replace(self._channels[self._dms.get(channel_id, channel_id)])

    def dm_channel(self, user_id: str) -> str:
        """The stable ``D...`` id of the bot's DM with ``user_id`` (opened on first use)."""
        with self._lock:
            if user_id not in self._users:
                raise KeyError(f"unknown user {user_id}")
            return self._open_dm(user_id)

    def issue_trigger_id(self, user_id: str) -> str:
        """A fresh trigger_id, as Slack attaches to an interaction by ``user_id``."""
        trigger = f"{int(time.time())}.{secrets.randbelow(10**10):010d}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger] = _Trigger(user=user_id, issued_at=time.monotonic())
        return trigger

    def new_response_url(
        self,
        *,
        channel: str | None = None,
        user: str | None = None,
        message: FakeMessage | None = None,
    ) -> str:
        """A response_url on the fake. When bound to ``message``, ``replace_original``
        and ``delete_original`` act on it; ``channel``/``user`` say where new
        in-channel and ephemeral responses land."""
        key = secrets.token_urlsafe(18)
        with self._lock:
            self._response_urls[key] = _ResponseUrl(
                channel=message.channel if message else channel,
                user=user if user else (message.recipient if message and message.ephemeral else None),
                message_ts=message.ts if message else None,
                ephemeral=bool(message and message.ephemeral),
            )
        return f"{self.root_url}/actions/{key}"

    def post_as_user(
        self,
        user_id: str,
        channel: str,
        text: str,
        *,
        files: list[JsonDict] | None = None,
        thread_ts: str | None = None,
        blocks: list[JsonDict] | None = None,
    ) -> FakeMessage:
        """Record a message a person typed in Slack (``channel`` may be a user id: their DM)."""
        with self._lock:
            ch = self._resolve_channel(channel, allow_user=True)
            subtype = "file_share" if files else None
            msg = FakeMessage(
                channel=ch.id,
                ts=self._next_ts(),
                text=text,
                user=user_id,
                blocks=copy.deepcopy(blocks) if blocks else [],
                thread_ts=thread_ts,
                team=self.team_id,
                subtype=subtype,
                files=copy.deepcopy(files or []),
            )
            self._append_message(msg)
            for f in files or []:
                rec = self._files.get(str(f.get("id")))
                if rec is not None:
                    self._share_file(rec, ch, msg.ts)
            return copy.deepcopy(msg)

    def add_file(
        self, content: bytes, name: str, mimetype: str, user: str, *, title: str | None = None
    ) -> JsonDict:
        """Register a file as if ``user`` had uploaded it; returns the Slack file object."""
        with self._lock:
            rec = self._new_file(name=name, title=title or name, user=user, mimetype=mimetype)
            rec.content = content
            rec.meta["size"] = len(content)
            return copy.deepcopy(rec.meta)

    # ---------------------------------------------------------- fault injection

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` (``"*"``: any) get HTTP 429 with ``Retry-After``."""
        with self._lock:
            self._faults.setdefault(method, deque()).append(
                _Fault("ratelimit", times, error="ratelimited", status=429, retry_after=retry_after)
            )

    def fail(self, method: str, error: str = "internal_error", times: int = 1, status: int = 200) -> None:
        """The next ``times`` calls of ``method`` (``"*"``: any) fail with ``error``;
        ``status`` >= 500 simulates a server error."""
        with self._lock:
            self._faults.setdefault(method, deque()).append(
                _Fault("error", times, error=error, status=status)
            )

    def lose_answer(self, method: str, times: int = 1, hold_seconds: float = 10.0) -> None:
        """The next ``times`` calls of ``method`` are carried out, but their answer is held back
        ``hold_seconds`` (longer than the client waits): the client sees a timeout, as when
        Slack's answer is lost on the way."""
        with self._lock:
            self._faults.setdefault(method, deque()).append(_Fault("lost", times, hold_seconds=hold_seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # ---------------------------------------------------------------- recording

    @property
    def calls(self) -> list[ApiCall]:
        with self._lock:
            return list(self._calls)

    def clear_calls(self) -> None:
        """Forget the recorded calls (the workspace state is kept)."""
        with self._lock:
            self._calls.clear()

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def mark(self) -> int:
        """A position in ``calls``; pass it as ``after=`` to only consider later calls."""
        with self._lock:
            return len(self._calls)

    def _find_call(
        self, method: str, predicate: Callable[[ApiCall], bool] | None, after: int
    ) -> ApiCall | None:
        with self._lock:
            candidates = self._calls[after:]
        for c in candidates:
            if c.method == method and (predicate is None or predicate(c)):
                return c
        return None

    def _timeout_error(self, method: str, timeout: float, after: int) -> AssertionError:
        with self._lock:
            recent = self._calls[after:][-15:]
        listing = "\n".join(
            f"  {c.method} {json.dumps(c.args, default=str)[:200]}" + (f" -> {c.error}" if c.error else "")
            for c in recent
        )
        return AssertionError(
            f"no matching {method} call within {timeout}s; recent calls:\n{listing or '  (none)'}"
        )

    def wait_for(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        after: int = 0,
    ) -> ApiCall:
        """Block until a call to ``method`` (matching ``predicate``) has been received.

        Do not call this from the event loop that runs the app (use ``wait_for_async``)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._find_call(method, predicate, after)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise self._timeout_error(method, timeout, after)
            time.sleep(0.02)

    async def wait_for_async(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        after: int = 0,
    ) -> ApiCall:
        """Like ``wait_for`` but yields to the running event loop while polling."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._find_call(method, predicate, after)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise self._timeout_error(method, timeout, after)
            await asyncio.sleep(0.02)

    def wait_until(
        self, condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
    ) -> None:
        """Poll ``condition`` until it holds; AssertionError naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not hold within {timeout}s")
            time.sleep(0.02)

    def wait_for_message(
        self,
        channel: str,
        predicate: Callable[[FakeMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> FakeMessage:
        """The first message in ``channel`` (current state; a user id means the bot DM)
        matching ``predicate``, waiting for it to appear or change."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                channel_id = self._dms.get(channel, channel)
                current = self.messages(channel_id)
            for msg in current:
                if predicate is None or predicate(msg):
                    return msg
            if time.monotonic() > deadline:
                listing = "\n".join(f"  {m.ts} {m.user}: {m.text[:120]!r}" for m in current[-15:])
                raise AssertionError(
                    f"no matching message in {channel} within {timeout}s; messages:\n{listing or '  (none)'}"
                )
            time.sleep(0.02)

    def messages(self, channel: str, *, include_replies: bool = True) -> list[FakeMessage]:
        """Messages in ``channel`` (a C/G/D id, or a user id for the bot DM) in
        posting order, as they currently stand."""
        with self._lock:
            ch_id = self._dms.get(channel, channel)
            msgs = self._messages.get(ch_id, [])
            return [
                copy.deepcopy(m)
                for m in msgs
                if include_replies or m.thread_ts is None or m.thread_ts == m.ts
            ]

    def dm_messages(self, user_id: str) -> list[FakeMessage]:
        """Messages in the bot's DM with ``user_id`` (empty if never opened)."""
        with self._lock:
            dm = self._dms.get(user_id)
            return self.messages(dm) if dm else []

    def thread(self, channel: str, thread_ts: str) -> list[FakeMessage]:
        """The parent message and its replies."""
        return [m for m in self.messages(channel) if m.ts == thread_ts or m.thread_ts == thread_ts]

    def message(self, channel: str, ts: str) -> FakeMessage:
        """The current state of one message (ephemeral ones included)."""
        with self._lock:
            ch_id = self._dms.get(channel, channel)
            for m in self._messages.get(ch_id, []):
                if m.ts == ts:
                    return copy.deepcopy(m)
            for m in self._ephemeral:
                if m.channel == ch_id and m.ts == ts:
                    return copy.deepcopy(m)
        raise KeyError(f"no message {ts} in {channel}")

    def ephemeral(self, user_id: str, channel: str | None = None) -> list[FakeMessage]:
        """Ephemeral messages shown to ``user_id`` (optionally only in ``channel``)."""
        with self._lock:
            ch_id = self._dms.get(channel, channel) if channel else None
            return [
                copy.deepcopy(m)
                for m in self._ephemeral
                if m.recipient == user_id and (ch_id is None or m.channel == ch_id)
            ]

    @property
    def views_opened(self) -> list[JsonDict]:
        """Every view returned by views.open / views.push, as it was at that moment."""
        with self._lock:
            return copy.deepcopy(self._opened)

    def view(self, view_id: str) -> JsonDict:
        """The current state of a view."""
        with self._lock:
            return copy.deepcopy(self._views[view_id].view)

    def view_user(self, view_id: str) -> str:
        with self._lock:
            return self._views[view_id].user

    def open_views(self, user_id: str) -> list[JsonDict]:
        """The user's modal stack, root first (empty when no modal is open)."""
        with self._lock:
            return [copy.deepcopy(self._views[v].view) for v in self._stacks.get(user_id, [])]

    def latest_view(self, user_id: str) -> JsonDict | None:
        """The current state of the view most recently opened or pushed for ``user_id``."""
        with self._lock:
            for opened in reversed(self._opened):
                rec = self._views.get(opened["id"])
                if rec is not None and rec.user == user_id:
                    return copy.deepcopy(rec.view)
        return None

    def home_view(self, user_id: str) -> JsonDict | None:
        """The App Home view last published for ``user_id``."""
        with self._lock:
            view_id = self._homes.get(user_id)
            return copy.deepcopy(self._views[view_id].view) if view_id else None

    def close_views(self, user_id: str, view_id: str | None = None) -> None:
        """Close the top modal (or, with ``view_id=None`` and clear, the whole stack)
        as Slack does after a submission or when the user dismisses it."""
        with self._lock:
            stack = self._stacks.get(user_id, [])
            if view_id is None:
                for v in stack:
                    self._views[v].open = False
                stack.clear()
            elif view_id in stack:
                idx = stack.index(view_id)
                for v in stack[idx:]:
                    self._views[v].open = False
                del stack[idx:]

    def apply_view_update(self, view_id: str, spec: JsonDict) -> JsonDict:
        """Replace a view's content, as a ``response_action: update`` does."""
        with self._lock:
            rec = self._views[view_id]
            rec.view = self._build_view(spec, view_id=view_id, previous=rec.view)
            return copy.deepcopy(rec.view)

    def apply_view_push(self, user_id: str, spec: JsonDict) -> JsonDict:
        """Push a view onto the user's stack, as a ``response_action: push`` does."""
        with self._lock:
            return copy.deepcopy(self._push_view(user_id, spec))

    def set_view_state(self, view_id: str, values: JsonDict) -> None:
        """Record what the user typed into a view (``state.values``)."""
        with self._lock:
            self._views[view_id].view["state"] = {"values": copy.deepcopy(values)}

    @property
    def response_url_posts(self) -> list[ResponseUrlPost]:
        with self._lock:
            return list(self._response_posts)

    def wait_for_response_post(
        self,
        predicate: Callable[[ResponseUrlPost], bool] | None = None,
        timeout: float = 5.0,
        *,
        after: int = 0,
    ) -> ResponseUrlPost:
        """Wait for a POST to a response_url matching ``predicate``; ``after`` skips the
        first posts (take ``len(slack.response_url_posts)`` before the interaction)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                posts = self._response_posts[after:]
            for post in posts:
                if predicate is None or predicate(post):
                    return post
            if time.monotonic() > deadline:
                listing = "\n".join(f"  {json.dumps(p.body, default=str)[:200]}" for p in posts[-10:])
                raise AssertionError(
                    f"no matching response_url post within {timeout}s; posts:\n{listing or '  (none)'}"
                )
            time.sleep(0.02)

    @property
    def file_downloads(self) -> list[FileDownload]:
        with self._lock:
            return list(self._downloads)

    def file(self, file_id: str) -> JsonDict:
        with self._lock:
            return copy.deepcopy(self._files[file_id].meta)

    def file_content(self, file_id: str) -> bytes | None:
        with self._lock:
            return self._files[file_id].content

    # ------------------------------------------------------------ HTTP plumbing

    async def _handle_api(self, request: Request) -> Response:
        try:
            return await self._serve_api(request)
        finally:
            self._notify()

    async def _serve_api(self, request: Request) -> Response:
        method = request.path_params["method"]
        try:
            args, token = await self._read_args(request)
        except SlackApiError as exc:
            self._record(method, {}, None, 200, exc.error, exc.body())
            return JSONResponse(exc.body())
        with self._lock:
            fault = self._take_fault(method)
            if fault is not None and fault.kind == "lost":
                held, fault = fault.hold_seconds, None
            else:
                held = 0.0
            if fault is not None:
                failure = {"ok": False, "error": fault.error}
                self._record(method, args, token, fault.status, fault.error, failure)
                if fault.kind == "ratelimit":
                    return JSONResponse(
                        failure, status_code=429, headers={"Retry-After": str(fault.retry_after)}
                    )
                return JSONResponse(failure, status_code=fault.status)
            if method == "oauth.v2.access":  # client credentials instead of a token
                try:
                    body = self.oauth.access(args, request.headers.get("authorization", ""))
                except SlackApiError as exc:
                    self._record(method, args, None, 200, exc.error, exc.body())
                    return JSONResponse(exc.body())
                self._record(method, args, None, 200, None, body)
                return JSONResponse(body)
            handler = self._handlers.get(method)
            if handler is None:
                unknown = {"ok": False, "error": "unknown_method", "req_method": method}
                self._record(method, args, token, 200, "unknown_method", unknown)
                return JSONResponse(unknown)
            try:
                if not token:
                    raise SlackApiError("not_authed")
                if not self.oauth.token_valid(token):
                    raise SlackApiError("invalid_auth")
                body = handler(args)
            except SlackApiError as exc:
                self._record(method, args, token, 200, exc.error, exc.body())
                return JSONResponse(exc.body())
            self._record(method, args, token, 200, None, body)
        if held:  # carried out; the answer comes too late for the client
            await asyncio.sleep(held)
        return JSONResponse(body)

    def _record(
        self,
        method: str,
        args: JsonDict,
        token: str | None,
        status: int,
        error: str | None,
        response: JsonDict | None = None,
    ) -> None:
        call = ApiCall(
            method=method,
            args=copy.deepcopy(args),
            token=token,
            at=time.time(),
            http_status=status,
            error=error,
            response=copy.deepcopy(response),
        )
        with self._lock:
            self._calls.append(call)
            self._pending_notifications.append(call)

    def _notify(self) -> None:
        with self._lock:
            pending, self._pending_notifications = self._pending_notifications, []
            listeners = list(self._listeners)
        for call in pending:
            for listener in listeners:
                try:
                    listener(call)
                except Exception:  # a listener must not break the API
                    continue

    def subscribe(self, listener: Callable[[ApiCall], None]) -> Callable[[], None]:
        """Call ``listener(call)`` after every Web API call has been handled, before the
        caller gets its response (so the workspace is already updated). Listeners run on
        the server thread: keep them quick and never call the fake over HTTP from one.
        Returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    async def _read_args(self, request: Request) -> tuple[JsonDict, str | None]:
        args: JsonDict = dict(request.query_params)
        body = await request.body()
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype == "application/json":
            try:
                data = json.loads(body or b"{}")
            except ValueError as exc:
                raise SlackApiError("invalid_json") from exc
            if not isinstance(data, dict):
                raise SlackApiError("invalid_json")
            data.pop("token", None)  # Slack only reads tokens from the header for JSON bodies
            args.update(data)
        elif ctype == "multipart/form-data":
            fields, _files = parse_multipart(request.headers.get("content-type", ""), body)
            args.update(fields)
        elif body:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SlackApiError("invalid_charset") from exc
            for key, values in urllib.parse.parse_qs(text, keep_blank_values=True).items():
                args[key] = values[-1]
        token: str | None = None
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or None
        form_token = args.pop("token", None)
        if token is None and isinstance(form_token, str) and form_token:
            token = form_token
        for name in JSON_ARGS:
            value = args.get(name)
            if isinstance(value, str) and value != "":
                try:
                    args[name] = json.loads(value)
                except ValueError as exc:
                    error = "invalid_blocks_format" if name == "blocks" else "invalid_arguments"
                    raise SlackApiError(error, messages=[f"[ERROR] {name} is not valid JSON"]) from exc
        return args, token

    async def _handle_upload(self, request: Request) -> Response:
        key = request.path_params["key"]
        body = await request.body()
        ctype = request.headers.get("content-type", "")
        if ctype.lower().startswith("multipart/form-data"):
            fields, files = parse_multipart(ctype, body)
            if files:
                body = files.get("file") or next(iter(files.values()))
            else:
                body = str(fields.get("file", "")).encode()
        with self._lock:
            file_id = self._uploads.get(key)
            if file_id is None:
                return PlainTextResponse("Not Found", status_code=404)
            rec = self._files[file_id]
            rec.content = body
            rec.meta["size"] = len(body)
        return PlainTextResponse(f"OK - {len(body)}")

    async def _handle_download(self, request: Request) -> Response:
        team_file = request.path_params["team_file"]
        auth = request.headers.get("authorization", "")
        authorized = auth.lower().startswith("bearer ") and self.oauth.token_valid(auth[7:].strip())
        file_id = team_file.split("-", 1)[1] if "-" in team_file else team_file
        with self._lock:
            rec = self._files.get(file_id)
            self._downloads.append(FileDownload(file_id=file_id, authorized=authorized, at=time.time()))
            if not authorized:
                target = urllib.parse.quote(request.url.path)
                return RedirectResponse(f"{self.root_url}/signin?redir={target}", status_code=302)
            if rec is None or rec.content is None:
                return PlainTextResponse("File not found", status_code=404)
            content, mimetype = rec.content, str(rec.meta.get("mimetype") or "application/octet-stream")
        disposition = "attachment" if "/download/" in f"/{request.path_params['rest']}" else "inline"
        name = str(rec.meta.get("name") or file_id)
        ascii_name = name.encode("ascii", "replace").decode().replace('"', "'")
        quoted = urllib.parse.quote(name)
        return Response(
            content,
            media_type=mimetype,
            headers={
                "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"
            },
        )

    async def _handle_signin(self, request: Request) -> Response:
        return HTMLResponse(
            "<!DOCTYPE html><html><head><title>Sign in | Slack</title></head>"
            f"<body><h1>Sign in to {self.team_name}</h1></body></html>"
        )

    async def _handle_response_url(self, request: Request) -> Response:
        key = request.path_params["key"]
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            parsed = urllib.parse.parse_qs(raw.decode("utf-8", "replace"))
            try:
                body = json.loads(parsed.get("payload", ["{}"])[-1])
            except ValueError:
                return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        with self._lock:
            binding = self._response_urls.get(key)
            if (
                binding is None
                or binding.posts >= RESPONSE_URL_MAX_USES
                or time.monotonic() - binding.issued_at > RESPONSE_URL_TTL
            ):
                return JSONResponse({"ok": False, "error": "expired_url"}, status_code=404)
            self._response_posts.append(
                ResponseUrlPost(
                    url=str(request.url),
                    body=copy.deepcopy(body),
                    at=time.time(),
                    channel=binding.channel,
                    message_ts=binding.message_ts,
                    user=binding.user,
                )
            )
            try:
                self._apply_response(binding, body)
            except SlackApiError as exc:
                return JSONResponse(exc.body(), status_code=400 if exc.error != "no_text" else 200)
            binding.posts += 1
        return JSONResponse({"ok": True})

    def _apply_response(self, binding: _ResponseUrl, body: JsonDict) -> None:
        if _truthy(body.get("delete_original")):
            if binding.message_ts and binding.channel:
                self._remove_message(binding.channel, binding.message_ts, ephemeral=binding.ephemeral)
            return
        text = str(body["text"]) if isinstance(body.get("text"), str) else ""
        raw_blocks = body.get("blocks")
        blocks: list[JsonDict] = raw_blocks if isinstance(raw_blocks, list) else []
        raw_attachments = body.get("attachments")
        attachments: list[JsonDict] = raw_attachments if isinstance(raw_attachments, list) else []
        if not text and not blocks and not attachments:
            raise SlackApiError("no_text")
        if blocks:
            errors = validate_blocks(blocks, surface="message")
            if errors:
                raise SlackApiError("invalid_blocks", messages=errors)
        blocks = _fill_block_ids(blocks)
        if _truthy(body.get("replace_original")) and binding.message_ts and binding.channel:
            msg = self._find_message(binding.channel, binding.message_ts, ephemeral=binding.ephemeral)
            if msg is not None:
                msg.text, msg.blocks, msg.attachments = _fallback(text, blocks), blocks, list(attachments)
                msg.edited_ts = self._next_ts()
            return
        if binding.channel is None:
            return
        thread_ts = body.get("thread_ts") if isinstance(body.get("thread_ts"), str) else None
        if body.get("response_type") == "in_channel":
            self._append_message(
                self._bot_message(binding.channel, _fallback(text, blocks), blocks, thread_ts, attachments)
            )
        elif binding.user:
            msg = self._bot_message(binding.channel, _fallback(text, blocks), blocks, thread_ts, attachments)
            msg.ephemeral, msg.recipient = True, binding.user
            self._ephemeral.append(msg)

    # --------------------------------------------------------------- internals

    def _next_ts(self) -> str:
        with self._lock:
            now = int(time.time() * 1_000_000)
            self._last_ts_us = max(now, self._last_ts_us + 1)
            return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return prefix + secrets.token_hex(5).upper()

    def _open_dm(self, user_id: str) -> str:
        dm = self._dms.get(user_id)
        if dm is None:
            dm = self._new_id("D")
            self._dms[user_id] = dm
            self._channels[dm] = FakeChannel(
                id=dm,
                name=dm,
                is_im=True,
                im_user=user_id,
                members={user_id, self.bot_user_id},
                created=int(time.time()),
            )
            self._messages.setdefault(dm, [])
        return dm

    def _resolve_channel(self, channel: Any, *, allow_user: bool) -> FakeChannel:
        if not isinstance(channel, str) or not channel:
            raise SlackApiError("channel_not_found")
        if channel in self._channels:
            return self._channels[channel]
        if allow_user and channel in self._users and not self._users[channel].is_bot:
            return self._channels[self._open_dm(channel)]
        name = channel.lstrip("#")
        for ch in self._channels.values():
            if not ch.is_im and ch.name == name:
                return ch
        raise SlackApiError("channel_not_found")

    def _is_member(self, ch: FakeChannel, user_id: str) -> bool:
        return ch.members is None or user_id in ch.members

    def _require_bot_member(self, ch: FakeChannel) -> None:
        if not self._is_member(ch, self.bot_user_id):
            raise SlackApiError("channel_not_found" if ch.is_private else "not_in_channel")

    def _append_message(self, msg: FakeMessage) -> None:
        self._messages.setdefault(msg.channel, []).append(msg)
        if msg.thread_ts and msg.thread_ts != msg.ts:
            parent = self._find_message(msg.channel, msg.thread_ts)
            if parent is not None:
                parent.thread_ts = parent.ts
                parent.reply_count += 1

    def _find_message(self, channel: str, ts: str, *, ephemeral: bool = False) -> FakeMessage | None:
        pool = self._ephemeral if ephemeral else self._messages.get(channel, [])
        for m in pool:
            if m.ts == ts and m.channel == channel:
                return m
        return None

    def _remove_message(self, channel: str, ts: str, *, ephemeral: bool = False) -> None:
        if ephemeral:
            self._ephemeral = [m for m in self._ephemeral if not (m.channel == channel and m.ts == ts)]
        else:
            self._messages[channel] = [m for m in self._messages.get(channel, []) if m.ts != ts]

    def _bot_message(
        self,
        channel: str,
        text: str,
        blocks: list[JsonDict],
        thread_ts: str | None,
        attachments: list[JsonDict] | None = None,
    ) -> FakeMessage:
        return FakeMessage(
            channel=channel,
            ts=self._next_ts(),
            text=text,
            user=self.bot_user_id,
            blocks=blocks,
            thread_ts=thread_ts,
            bot_id=self.bot_id,
            app_id=self.app_id,
            team=self.team_id,
            attachments=list(attachments or []),
        )

    def _content(
        self, args: JsonDict, *, require: bool
    ) -> tuple[str | None, list[JsonDict] | None, list[JsonDict] | None]:
        text = args.get("text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        blocks = args.get("blocks")
        if blocks is not None:
            errors = validate_blocks(blocks, surface="message")
            if errors:
                raise SlackApiError("invalid_blocks", messages=errors)
            blocks = _fill_block_ids(blocks)
        attachments = args.get("attachments")
        if attachments is not None and not isinstance(attachments, list):
            raise SlackApiError("invalid_attachments")
        if require and not text and not blocks and not attachments:
            raise SlackApiError("no_text")
        if text and len(text) > MAX_TEXT:
            raise SlackApiError("msg_too_long")
        return text, blocks, attachments

    # ----------------------------------------------------------------- methods

    def _retired(self, args: JsonDict) -> JsonDict:
        # files.upload was retired in favour of files.getUploadURLExternal +
        # files.completeUploadExternal (slack_sdk's files_upload_v2).
        raise SlackApiError("method_deprecated")

    def _api_test(self, args: JsonDict) -> JsonDict:
        return {"ok": True, "args": args}

    def _auth_test(self, args: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _team_info(self, args: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "team": {
                "id": self.team_id,
                "name": self.team_name,
                "domain": self.team_domain,
                "email_domain": "",
                "icon": {"image_default": True},
            },
        }

    def _chat_post_message(self, args: JsonDict) -> JsonDict:
        ch = self._resolve_channel(args.get("channel"), allow_user=True)
        self._require_bot_member(ch)
        text, blocks, attachments = self._content(args, require=True)
        thread_ts = args.get("thread_ts") or None
        metadata = _metadata(args.get("metadata"))
        msg = self._bot_message(ch.id, _fallback(text, blocks), blocks or [], thread_ts, attachments)
        msg.metadata = metadata
        self._append_message(msg)
        return {"ok": True, "channel": ch.id, "ts": msg.ts, "message": msg.to_api()}

    def _chat_update(self, args: JsonDict) -> JsonDict:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        ts = args.get("ts")
        if not ts:
            raise SlackApiError("message_not_found")
        msg = self._find_message(ch.id, str(ts))
        if msg is None:
            raise SlackApiError("message_not_found")
        if msg.user != self.bot_user_id:
            raise SlackApiError("cant_update_message")
        text, blocks, attachments = self._content(args, require=False)
        if text is None and blocks is None and attachments is None:
            raise SlackApiError("no_text")
        if text is not None or blocks:
            msg.text = _fallback(text, blocks)
        if blocks is not None:
            msg.blocks = blocks
        if attachments is not None:
            msg.attachments = attachments
        msg.edited_ts = self._next_ts()
        return {"ok": True, "channel": ch.id, "ts": msg.ts, "text": msg.text, "message": msg.to_api()}

    def _chat_post_ephemeral(self, args: JsonDict) -> JsonDict:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        user = args.get("user")
        if not user:
            raise _missing("user")
        if user not in self._users:
            raise SlackApiError("user_not_found")
        self._require_bot_member(ch)
        if not self._is_member(ch, str(user)):
            raise SlackApiError("user_not_in_channel")
        text, blocks, attachments = self._content(args, require=True)
        msg = self._bot_message(
            ch.id, _fallback(text, blocks), blocks or [], args.get("thread_ts") or None, attachments
        )
        msg.ephemeral, msg.recipient = True, str(user)
        self._ephemeral.append(msg)
        return {"ok": True, "message_ts": msg.ts}

    def _chat_delete(self, args: JsonDict) -> JsonDict:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        msg = self._find_message(ch.id, str(args.get("ts") or ""))
        if msg is None:
            raise SlackApiError("message_not_found")
        if msg.user != self.bot_user_id:
            raise SlackApiError("cant_delete_message")
        self._remove_message(ch.id, msg.ts)
        return {"ok": True, "channel": ch.id, "ts": msg.ts}

    def _chat_get_permalink(self, args: JsonDict) -> JsonDict:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        ts = str(args.get("message_ts") or "")
        if self._find_message(ch.id, ts) is None:
            raise SlackApiError("message_not_found")
        return {
            "ok": True,
            "channel": ch.id,
            "permalink": f"https://{self.team_domain}.slack.com/archives/{ch.id}/p{ts.replace('.', '')}",
        }

    def _reaction_target(self, args: JsonDict) -> tuple[FakeMessage, str]:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        name = args.get("name")
        if not name:
            raise SlackApiError("invalid_name")
        msg = self._find_message(ch.id, str(args.get("timestamp") or ""))
        if msg is None:
            raise SlackApiError("message_not_found")
        return msg, str(name).strip(":")

    def _reactions_add(self, args: JsonDict) -> JsonDict:
        msg, name = self._reaction_target(args)
        users = msg.reactions.setdefault(name, [])
        if self.bot_user_id in users:
            raise SlackApiError("already_reacted")
        users.append(self.bot_user_id)
        return {"ok": True}

    def _reactions_remove(self, args: JsonDict) -> JsonDict:
        msg, name = self._reaction_target(args)
        users = msg.reactions.get(name, [])
        if self.bot_user_id not in users:
            raise SlackApiError("no_reaction")
        users.remove(self.bot_user_id)
        if not users:
            del msg.reactions[name]
        return {"ok": True}

    def _conversations_open(self, args: JsonDict) -> JsonDict:
        if args.get("channel"):
            ch = self._resolve_channel(args["channel"], allow_user=False)
            return {
                "ok": True,
                "channel": ch.to_api(self.bot_user_id) if _truthy(args.get("return_im")) else {"id": ch.id},
            }
        raw = args.get("users")
        if not raw:
            raise SlackApiError("users_list_not_supplied")
        users = [u.strip() for u in str(raw).split(",") if u.strip()]
        for u in users:
            if u not in self._users:
                raise SlackApiError("user_not_found")
        if len(users) > 8:
            raise SlackApiError("too_many_users")
        if len(users) == 1:
            existed = users[0] in self._dms
            ch = self._channels[self._open_dm(users[0])]
        else:
            key = frozenset([*users, self.bot_user_id])
            existed = key in self._mpims
            if not existed:
                ch_id = self._new_id("G")
                self._mpims[key] = ch_id
                self._channels[ch_id] = FakeChannel(
                    id=ch_id, name=f"mpdm-{'--'.join(sorted(key))}-1", is_mpim=True, members=set(key)
                )
                self._messages.setdefault(ch_id, [])
            ch = self._channels[self._mpims[key]]
        out: JsonDict = {"ok": True}
        if existed:
            out["no_op"] = True
            out["already_open"] = True
        out["channel"] = ch.to_api(self.bot_user_id) if _truthy(args.get("return_im")) else {"id": ch.id}
        return out

    def _conversations_info(self, args: JsonDict) -> JsonDict:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        if ch.is_private and not self._is_member(ch, self.bot_user_id):
            raise SlackApiError("channel_not_found")
        return {"ok": True, "channel": ch.to_api(self.bot_user_id)}

    def _conversations_history(self, args: JsonDict) -> JsonDict:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        if not self._is_member(ch, self.bot_user_id):
            raise SlackApiError("not_in_channel")
        limit = int(args.get("limit") or 100)
        msgs = [m for m in self._messages.get(ch.id, []) if m.thread_ts is None or m.thread_ts == m.ts]
        oldest, latest = args.get("oldest"), args.get("latest")
        if oldest:
            msgs = [m for m in msgs if float(m.ts) > float(oldest)]
        if latest:
            msgs = [m for m in msgs if float(m.ts) < float(latest)]
        msgs = list(reversed(msgs))
        with_metadata = _truthy(args.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [_listed(m, with_metadata) for m in msgs[:limit]],
            "has_more": len(msgs) > limit,
            "pin_count": 0,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_replies(self, args: JsonDict) -> JsonDict:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        ts = str(args.get("ts") or "")
        parent = self._find_message(ch.id, ts)
        if parent is None:
            raise SlackApiError("thread_not_found")
        root = parent.thread_ts or parent.ts
        msgs = [m for m in self._messages.get(ch.id, []) if m.ts == root or m.thread_ts == root]
        oldest, latest = args.get("oldest"), args.get("latest")
        if oldest:
            msgs = [m for m in msgs if m.ts == root or float(m.ts) > float(oldest)]
        if latest:
            msgs = [m for m in msgs if m.ts == root or float(m.ts) < float(latest)]
        with_metadata = _truthy(args.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [_listed(m, with_metadata) for m in msgs],
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def _users_info(self, args: JsonDict) -> JsonDict:
        user = self._users.get(str(args.get("user") or ""))
        if user is None:
            raise SlackApiError("user_not_found")
        return {"ok": True, "user": user.to_api()}

    def _page(self, items: list[Any], args: JsonDict) -> tuple[list[Any], str]:
        try:
            limit = max(1, min(int(args.get("limit") or 1000), 1000))
            start = int(str(args.get("cursor") or "0").removeprefix("cur:") or 0)
        except ValueError as exc:
            raise SlackApiError("invalid_cursor") from exc
        page = items[start : start + limit]
        next_cursor = f"cur:{start + limit}" if start + limit < len(items) else ""
        return page, next_cursor

    def _users_list(self, args: JsonDict) -> JsonDict:
        users = [u.to_api() for u in self._users.values()]
        page, cursor = self._page(users, args)
        return {
            "ok": True,
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_members(self, args: JsonDict) -> JsonDict:
        ch = self._resolve_channel(args.get("channel"), allow_user=False)
        if ch.is_private and not self._is_member(ch, self.bot_user_id):
            raise SlackApiError("channel_not_found")
        if ch.members is None:
            members = [u.id for u in self._users.values() if not u.deleted]
        else:
            members = [u for u in self._users if u in ch.members]
        page, cursor = self._page(members, args)
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    def _users_lookup_by_email(self, args: JsonDict) -> JsonDict:
        email = args.get("email")
        if not email:
            raise _missing("email")
        for user in self._users.values():
            if user.email and user.email.casefold() == str(email).casefold() and not user.deleted:
                return {"ok": True, "user": user.to_api()}
        raise SlackApiError("users_not_found")

    # views

    def _view_spec(self, args: JsonDict, expected: tuple[str, ...]) -> JsonDict:
        spec = args.get("view")
        if spec is None or spec == "":
            raise _missing("view")
        errors = validate_view(spec, expected=expected)
        if errors:
            raise SlackApiError("invalid_arguments", messages=errors)
        if len(json.dumps(spec)) > 250_000:
            raise SlackApiError("view_too_large")
        assert isinstance(spec, dict)
        external_id = spec.get("external_id")
        if external_id:
            for rec in self._views.values():
                if rec.view.get("external_id") == external_id and rec.open:
                    raise SlackApiError("duplicate_external_id")
        return spec

    def _exchange_trigger(self, args: JsonDict) -> str:
        trigger_id = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger_id:
            raise _missing("trigger_id")
        trigger = self._triggers.get(str(trigger_id))
        if trigger is None:
            raise SlackApiError("invalid_trigger_id")
        if trigger.used:
            raise SlackApiError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued_at > self.trigger_ttl:
            raise SlackApiError("expired_trigger_id")
        trigger.used = True
        return trigger.user

    def _build_view(
        self,
        spec: JsonDict,
        *,
        view_id: str,
        previous: JsonDict | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> JsonDict:
        blocks = _fill_block_ids(spec.get("blocks") or [])
        view: JsonDict = {
            "id": view_id,
            "team_id": self.team_id,
            "type": spec["type"],
            "blocks": blocks,
            "private_metadata": spec.get("private_metadata") or "",
            "callback_id": spec.get("callback_id") or "",
            "external_id": spec.get("external_id") or "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "root_view_id": root_view_id or view_id,
            "previous_view_id": previous_view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        for key in ("title", "submit", "close"):
            if spec.get(key) is not None:
                view[key] = copy.deepcopy(spec[key])
            elif spec["type"] == "modal" and key == "close":
                view[key] = {"type": "plain_text", "text": "Cancel", "emoji": True}
        if previous is not None:
            view["root_view_id"] = previous.get("root_view_id", view_id)
            view["previous_view_id"] = previous.get("previous_view_id")
            kept = {b.get("block_id") for b in blocks}
            old_values = previous.get("state", {}).get("values", {})
            view["state"] = {"values": {k: v for k, v in old_values.items() if k in kept}}
        return view

    def _push_view(self, user: str, spec: JsonDict) -> JsonDict:
        stack = self._stacks.setdefault(user, [])
        if not stack:
            raise SlackApiError("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise SlackApiError("push_limit_reached")
        view_id = self._new_id("V")
        root = self._views[stack[0]].view["id"]
        view = self._build_view(spec, view_id=view_id, root_view_id=root, previous_view_id=stack[-1])
        self._views[view_id] = _ViewRecord(view=view, user=user)
        stack.append(view_id)
        self._opened.append(copy.deepcopy(view))
        return view

    def _views_open(self, args: JsonDict) -> JsonDict:
        spec = self._view_spec(args, ("modal",))
        user = self._exchange_trigger(args)
        view_id = self._new_id("V")
        view = self._build_view(spec, view_id=view_id)
        self.close_views(user)
        self._views[view_id] = _ViewRecord(view=view, user=user)
        self._stacks[user] = [view_id]
        self._opened.append(copy.deepcopy(view))
        return {"ok": True, "view": copy.deepcopy(view)}

    def _views_push(self, args: JsonDict) -> JsonDict:
        spec = self._view_spec(args, ("modal",))
        user = self._exchange_trigger(args)
        return {"ok": True, "view": copy.deepcopy(self._push_view(user, spec))}

    def _views_update(self, args: JsonDict) -> JsonDict:
        view_id, external_id = args.get("view_id"), args.get("external_id")
        if not view_id and not external_id:
            raise _missing("view_id")
        rec: _ViewRecord | None = None
        if view_id:
            rec = self._views.get(str(view_id))
        else:
            rec = next((r for r in self._views.values() if r.view.get("external_id") == external_id), None)
        if rec is None or (rec.view["type"] == "modal" and not rec.open):
            raise SlackApiError("not_found")
        spec = args.get("view")
        if spec is None or spec == "":
            raise _missing("view")
        errors = validate_view(spec, expected=(str(rec.view["type"]),))
        if errors:
            raise SlackApiError("invalid_arguments", messages=errors)
        if args.get("hash") and args["hash"] != rec.view.get("hash"):
            raise SlackApiError("hash_conflict")
        assert isinstance(spec, dict)
        rec.view = self._build_view(spec, view_id=rec.view["id"], previous=rec.view)
        return {"ok": True, "view": copy.deepcopy(rec.view)}

    def _views_publish(self, args: JsonDict) -> JsonDict:
        user_id = args.get("user_id")
        if not user_id:
            raise _missing("user_id")
        if user_id not in self._users:
            raise SlackApiError("user_not_found")
        spec = args.get("view")
        if spec is None or spec == "":
            raise _missing("view")
        errors = validate_view(spec, expected=("home",))
        if errors:
            raise SlackApiError("invalid_arguments", messages=errors)
        assert isinstance(spec, dict)
        existing = self._homes.get(str(user_id))
        if existing and args.get("hash") and args["hash"] != self._views[existing].view.get("hash"):
            raise SlackApiError("hash_conflict")
        if existing:
            rec = self._views[existing]
            rec.view = self._build_view(spec, view_id=existing, previous=rec.view)
        else:
            view_id = self._new_id("V")
            rec = _ViewRecord(view=self._build_view(spec, view_id=view_id), user=str(user_id))
            self._views[view_id] = rec
            self._homes[str(user_id)] = view_id
        return {"ok": True, "view": copy.deepcopy(rec.view)}

    # files

    def _new_file(self, *, name: str, title: str, user: str, mimetype: str | None) -> _File:
        file_id = self._new_id("F")
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        mimetype = mimetype or _mimetype_for(ext)
        filetype = _FILETYPES.get(mimetype) or ({"jpeg": "jpg"}.get(ext, ext) or "binary")
        quoted = urllib.parse.quote(name)
        created = int(time.time())
        meta: JsonDict = {
            "id": file_id,
            "created": created,
            "timestamp": created,
            "name": name,
            "title": title,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": _PRETTY.get(filetype, filetype.upper()),
            "user": user,
            "user_team": self.team_id,
            "editable": False,
            "size": 0,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{self.root_url}/files-pri/{self.team_id}-{file_id}/{quoted}",
            "url_private_download": f"{self.root_url}/files-pri/{self.team_id}-{file_id}/download/{quoted}",
            "permalink": f"https://{self.team_domain}.slack.com/files/{user}/{file_id}/{quoted}",
            "channels": [],
            "groups": [],
            "ims": [],
            "shares": {},
            "comments_count": 0,
            "has_rich_preview": False,
            "file_access": "visible",
        }
        rec = _File(meta=meta, content=None)
        self._files[file_id] = rec
        return rec

    def _share_file(self, rec: _File, ch: FakeChannel, ts: str) -> None:
        kind = "ims" if ch.is_im else "groups" if ch.is_private or ch.is_mpim else "channels"
        if ch.id not in rec.meta[kind]:
            rec.meta[kind].append(ch.id)
        scope = "public" if kind == "channels" else "private"
        share = {"ts": ts, "reply_users_count": 0, "reply_count": 0, "share_user_id": rec.meta["user"]}
        rec.meta["shares"].setdefault(scope, {}).setdefault(ch.id, []).append(share)

    def _files_info(self, args: JsonDict) -> JsonDict:
        rec = self._files.get(str(args.get("file") or ""))
        if rec is None or rec.content is None:
            raise SlackApiError("file_not_found")
        return {
            "ok": True,
            "file": copy.deepcopy(rec.meta),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    def _files_get_upload_url_external(self, args: JsonDict) -> JsonDict:
        filename = args.get("filename")
        if not filename:
            raise _missing("filename")
        length = args.get("length")
        if length is None or str(length) == "":
            raise _missing("length")
        try:
            if int(length) < 0:
                raise ValueError
        except ValueError as exc:
            raise SlackApiError("invalid_arguments", messages=["[ERROR] length must be an integer"]) from exc
        rec = self._new_file(name=str(filename), title=str(filename), user=self.bot_user_id, mimetype=None)
        key = secrets.token_urlsafe(18)
        rec.upload_key = key
        self._uploads[key] = rec.meta["id"]
        return {"ok": True, "upload_url": f"{self.root_url}/upload/v1/{key}", "file_id": rec.meta["id"]}

    def _files_complete_upload_external(self, args: JsonDict) -> JsonDict:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise _missing("files")
        recs: list[_File] = []
        for entry in files:
            if not isinstance(entry, dict) or not entry.get("id"):
                raise SlackApiError("invalid_arguments", messages=["[ERROR] files must contain ids"])
            rec = self._files.get(str(entry["id"]))
            if rec is None or rec.upload_key is None or rec.content is None:
                raise SlackApiError("file_not_found")
            if entry.get("title"):
                rec.meta["title"] = str(entry["title"])
            recs.append(rec)
        targets: list[str] = []
        if args.get("channel_id"):
            targets.append(str(args["channel_id"]))
        if args.get("channels"):
            targets.extend(c.strip() for c in str(args["channels"]).split(",") if c.strip())
        channels = [self._resolve_channel(t, allow_user=True) for t in targets]
        for ch in channels:
            self._require_bot_member(ch)
        for ch in channels:
            text = str(args.get("initial_comment") or "")
            msg = self._bot_message(ch.id, text, [], args.get("thread_ts") or None)
            msg.files = [copy.deepcopy(r.meta) for r in recs]
            for r in recs:
                self._share_file(r, ch, msg.ts)
            msg.files = [copy.deepcopy(r.meta) for r in recs]
            self._append_message(msg)
        for r in recs:
            self._uploads.pop(r.upload_key or "", None)
        return {"ok": True, "files": [copy.deepcopy(r.meta) for r in recs]}


# ----------------------------------------------------------------------- helpers


NO_TEXT_FALLBACK = "This content can't be displayed."


def _fallback(text: str | None, blocks: list[JsonDict] | None) -> str:
    """The message text Slack stores: the app's ``text``, or a fixed fallback for
    block-only messages."""
    if text:
        return text
    return NO_TEXT_FALLBACK if blocks else ""


def _metadata(value: Any) -> JsonDict | None:
    """chat.postMessage's ``metadata``: ``{"event_type": str, "event_payload": object}``, as Slack
    checks it (``invalid_metadata_format`` otherwise)."""
    if value is None or value == "":
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not re.fullmatch(r"[A-Za-z0-9_]{1,255}", value["event_type"])
        or not isinstance(value.get("event_payload"), dict)
    ):
        raise SlackApiError("invalid_metadata_format")
    if len(json.dumps(value)) > 8000:
        raise SlackApiError("metadata_too_large")
    return {"event_type": value["event_type"], "event_payload": copy.deepcopy(value["event_payload"])}


def _listed(message: FakeMessage, with_metadata: bool) -> JsonDict:
    """A message in conversations.history/replies: its metadata only when asked for
    (``include_all_metadata``), as Slack does."""
    out = message.to_api()
    if not with_metadata:
        out.pop("metadata", None)
    return out


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _mimetype_for(ext: str) -> str:
    for mime, ft in _FILETYPES.items():
        if ft == ext or (ext == "jpeg" and ft == "jpg"):
            return mime
    return "application/octet-stream"


_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _short_id(n: int = 5) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(n))


_ELEMENT_KEYS = ("elements", "accessory", "element")
_INTERACTIVE = re.compile(
    r"^(button|.*_select|.*select|datepicker|timepicker|datetimepicker|.*_input|checkboxes|radio_buttons|overflow)$"
)


def _fill_block_ids(blocks: Any) -> list[JsonDict]:
    """Copy ``blocks``, giving every block a ``block_id`` and every interactive
    element an ``action_id`` where the app left them out, as Slack does."""
    if not isinstance(blocks, list):
        return []
    out: list[JsonDict] = copy.deepcopy([b for b in blocks if isinstance(b, dict)])
    for block in out:
        block.setdefault("block_id", _short_id())
        elements: list[Any] = []
        if isinstance(block.get("elements"), list) and block.get("type") == "actions":
            elements.extend(block["elements"])
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                elements.append(block[key])
        for element in elements:
            if isinstance(element, dict) and _INTERACTIVE.match(str(element.get("type", ""))):
                element.setdefault("action_id", _short_id())
    return out


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    """Split a ``multipart/form-data`` body into text fields and file parts."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            files[name] = data
        else:
            fields[name] = data.decode(part.get_content_charset() or "utf-8", "replace")
    return fields, files
