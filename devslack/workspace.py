"""The state behind ``FakeSlack``: the workspace (users, channels, messages, views, files) and what
the fake has recorded, with the primitives every Web API method family builds on.

Names starting with ``_`` are internal to ``devslack``: the method families (``devslack.webapi``)
and ``FakeSlack``'s own modules reach them; tests use ``FakeSlack``'s public methods instead.
"""

from __future__ import annotations

import copy
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devslack.errors import SlackApiError
from devslack.models import (
    ApiCall,
    FakeChannel,
    FakeMessage,
    FakeUser,
    FileDownload,
    JsonDict,
    ResponseUrlPost,
)

__all__ = [
    "NO_TEXT_FALLBACK",
    "Fault",
    "Method",
    "ResponseUrlBinding",
    "StoredFile",
    "Trigger",
    "ViewRecord",
    "Workspace",
    "fallback_text",
    "fill_block_ids",
    "truthy",
]


@dataclass
class Fault:
    kind: str  # "ratelimit" | "error" | "lost" (carried out, the answer held back)
    remaining: int
    error: str = "internal_error"
    status: int = 200
    retry_after: int = 1
    hold_seconds: float = 0.0


@dataclass
class Trigger:
    user: str
    issued_at: float
    used: bool = False


@dataclass
class ViewRecord:
    view: JsonDict
    user: str
    open: bool = True


@dataclass
class ResponseUrlBinding:
    channel: str | None
    user: str | None
    message_ts: str | None
    ephemeral: bool
    issued_at: float = field(default_factory=time.monotonic)
    posts: int = 0


@dataclass
class StoredFile:
    meta: JsonDict
    content: bytes | None
    upload_key: str | None = None
    shared_to: list[str] = field(default_factory=list)


class Workspace:
    """One Slack workspace as the fake holds it, guarded by one re-entrant lock."""

    def __init__(
        self,
        *,
        bot_token: str,
        team_id: str,
        team_name: str,
        team_domain: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        bot_name: str,
        host: str,
        port: int,
        trigger_ttl: float,
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

        self._lock = threading.RLock()
        self._last_ts_us = 0
        self._calls: list[ApiCall] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._users: dict[str, FakeUser] = {}
        self._channels: dict[str, FakeChannel] = {}
        self._dms: dict[str, str] = {}
        self._mpims: dict[frozenset[str], str] = {}
        self._messages: dict[str, list[FakeMessage]] = {}
        self._ephemeral: list[FakeMessage] = []
        self._triggers: dict[str, Trigger] = {}
        self._views: dict[str, ViewRecord] = {}
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._opened: list[JsonDict] = []
        self._files: dict[str, StoredFile] = {}
        self._uploads: dict[str, str] = {}
        self._response_urls: dict[str, ResponseUrlBinding] = {}
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

    # ------------------------------------------------------------------ address

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

    # --------------------------------------------------------------- primitives

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


# ----------------------------------------------------------------------- helpers


NO_TEXT_FALLBACK = "This content can't be displayed."


def fallback_text(text: str | None, blocks: list[JsonDict] | None) -> str:
    """The message text Slack stores: the app's ``text``, or a fixed fallback for
    block-only messages."""
    if text:
        return text
    return NO_TEXT_FALLBACK if blocks else ""


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _short_id(n: int = 5) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(n))


_INTERACTIVE = re.compile(
    r"^(button|.*_select|.*select|datepicker|timepicker|datetimepicker|.*_input|checkboxes|radio_buttons|overflow)$"
)


def fill_block_ids(blocks: Any) -> list[JsonDict]:
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


Method = Callable[[Workspace, JsonDict], JsonDict]
"""A Web API method: the workspace and the call's arguments in, the response body out
(or ``SlackApiError``)."""
